// The simulator's input audio buffer: bounded, newest audio kept.
import t from 'tap';
import { InputAudio, rms } from '../../src/simulator/audio';

t.test('input audio buffer keeps the newest 30 s', async (t) => {
  const a = new InputAudio(10);
  a.append(Buffer.alloc(0));
  a.append(Buffer.from([1, 2, 3, 4]));
  a.append(Buffer.from([5, 6, 7, 8]));
  a.append(Buffer.from([9, 10, 11, 12, 13])); // 13 bytes -> drop 3
  t.equal(a.bytes, 10);
  t.same([...a.take()], [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  t.equal(a.bytes, 0);
  a.append(Buffer.from([1, 2, 3]));
  a.append(Buffer.from([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]));
  t.same([...a.take()], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 'a chunk over the cap keeps its tail');
  a.append(Buffer.from([1]));
  a.append(Buffer.from([2, 3, 4, 5, 6, 7, 8, 9, 10]));
  a.append(Buffer.from([11, 12]));
  t.same([...a.take()], [3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'whole old chunks go first');
  a.append(Buffer.from([1, 2, 3]));
  t.same([...a.take()], [1, 2], 'a trailing half sample is dropped');
  t.equal(a.take().length, 0);
  t.equal(rms(Buffer.alloc(0)), 0);
});
