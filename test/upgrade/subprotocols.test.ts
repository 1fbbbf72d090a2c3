// chooseProtocol: the 101 echoes `realtime` or the first protocol that is not
// a credential, never a credential; an api-key protocol is reported.
import t from 'tap';
import { chooseProtocol } from '../../src/upgrade/subprotocols';

t.test('realtime is echoed wherever it is in the offer', async (t) => {
  t.same(chooseProtocol('realtime'), { echo: 'realtime', apiKey: false });
  t.same(chooseProtocol('openai-insecure-api-key.sk-abc, realtime'), { echo: 'realtime', apiKey: true });
  t.same(chooseProtocol('other, realtime'), { echo: 'realtime', apiKey: false });
  t.same(chooseProtocol('realtime, other'), { echo: 'realtime', apiKey: false });
  t.same(
    chooseProtocol(
      'realtime, openai-insecure-api-key.sk-abc, openai-organization.org-1, openai-project.proj_1, openai-beta.realtime-v1',
    ),
    { echo: 'realtime', apiKey: true },
  );
});

t.test('never a credential: the first plain protocol, else nothing', async (t) => {
  t.same(chooseProtocol(''), { echo: '', apiKey: false });
  t.same(chooseProtocol('openai-insecure-api-key.sk-abc'), { echo: '', apiKey: true });
  t.same(chooseProtocol('openai-organization.org-1,openai-project.p'), { echo: '', apiKey: false });
  t.same(chooseProtocol('openai-insecure-api-key.k, openai-beta.realtime-v1'), {
    echo: 'openai-beta.realtime-v1',
    apiKey: true,
  });
  t.same(chooseProtocol('a, b'), { echo: 'a', apiKey: false }, 'as before: the first offered');
  t.same(chooseProtocol(' , x'), { echo: 'x', apiKey: false });
});
