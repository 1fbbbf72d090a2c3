// The WebRTC control channel (`/voice-live/realtime/calls`): answer
// `rtc.call.sdp.create` with `rtc.call.sdp.created` carrying an SDP answer.
// The answer is well formed (RFC 8866 line syntax, RFC 8829 answer rules: the
// same m-sections in the same order, the same mids, a BUNDLE group, ICE and
// DTLS attributes) but announces no candidates, so no media ever flows: the
// simulator proves the negotiation path through a proxy, not audio over RTP.
import { randomBytes } from 'node:crypto';

export type SdpResult = { ok: true; answer: string } | { ok: false; message: string };

interface Section {
  media: string;
  proto: string;
  formats: string[];
  mid: string;
  opus: string;
  sctpPort: string;
}

const M_LINE = /^m=(\S+) (\d+) (\S+)(?: (.*))?$/;
/** Largest offer accepted; a browser's offer is a few KB. */
export const MAX_SDP_BYTES = 64 * 1024;

function parseOffer(offer: string): Section[] | string {
  if (offer.length > MAX_SDP_BYTES) return 'SDP offer too large.';
  const lines = offer.split(/\r?\n/).filter((l) => l !== '');
  if (lines[0] !== 'v=0') return "SDP offer must start with 'v=0'.";
  const sections: Section[] = [];
  for (const line of lines) {
    if (!/^[a-z]=/.test(line)) return 'SDP offer has a malformed line.';
    const m = M_LINE.exec(line);
    if (m !== null) {
      sections.push({
        media: m[1],
        proto: m[3],
        formats: (m[4] ?? '').split(' ').filter((f) => f !== ''),
        mid: String(sections.length),
        opus: '',
        sctpPort: '5000',
      });
      continue;
    }
    const cur = sections[sections.length - 1];
    if (cur === undefined) continue;
    if (line.startsWith('a=mid:')) cur.mid = line.slice(6);
    const rtp = /^a=rtpmap:(\d+) opus\/48000/i.exec(line);
    if (rtp !== null && cur.opus === '') cur.opus = rtp[1];
    if (line.startsWith('a=sctp-port:')) cur.sctpPort = line.slice(12);
  }
  if (sections.length === 0) return 'SDP offer has no media section.';
  return sections;
}

function fingerprint(): string {
  return [...randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

/** An SDP answer for `offer`, or why the offer is unusable. */
export function sdpAnswer(offer: string): SdpResult {
  const sections = parseOffer(offer);
  if (typeof sections === 'string') return { ok: false, message: sections };
  const session = BigInt('0x' + randomBytes(6).toString('hex')).toString();
  const ufrag = randomBytes(6).toString('base64url').slice(0, 8);
  const pwd = randomBytes(18).toString('base64url').slice(0, 24);
  const fp = fingerprint();
  const out = [
    'v=0',
    `o=- ${session} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    `a=group:BUNDLE ${sections.map((s) => s.mid).join(' ')}`,
    'a=msid-semantic: WMS',
  ];
  for (const s of sections) {
    const isData = s.media === 'application';
    const fmt = isData ? (s.formats[0] ?? 'webrtc-datachannel') : s.opus || s.formats[0] || '0';
    out.push(
      `m=${s.media} 9 ${s.proto} ${fmt}`,
      'c=IN IP4 0.0.0.0',
      `a=ice-ufrag:${ufrag}`,
      `a=ice-pwd:${pwd}`,
      `a=fingerprint:sha-256 ${fp}`,
      'a=setup:active',
      `a=mid:${s.mid}`,
    );
    if (isData) {
      out.push(`a=sctp-port:${s.sctpPort}`);
    } else {
      out.push('a=sendrecv', 'a=rtcp-mux');
      if (s.opus !== '') out.push(`a=rtpmap:${s.opus} opus/48000/2`, `a=fmtp:${s.opus} minptime=10;useinbandfec=1`);
    }
  }
  return { ok: true, answer: out.join('\r\n') + '\r\n' };
}
