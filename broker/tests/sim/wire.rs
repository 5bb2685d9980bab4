//! Records of the simulated world, built and read by hand (independently
//! of the code under test): RFC 5531 call and reply layouts.

use bytes::Bytes;

pub(crate) const PROGRAM: u32 = 0x2000_DA7A;
pub(crate) const OTHER_PROGRAM: u32 = 0x2000_0BAD;

fn put(buf: &mut Vec<u8>, w: u32) {
    buf.extend_from_slice(&w.to_be_bytes());
}

/// What identifies a call end to end: client index and sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Token {
    pub(crate) client: u32,
    pub(crate) seq: u32,
}

/// A CALL record with AUTH_NONE, whose arguments are `key` (XDR
/// string) then the token's two words.
pub(crate) fn call(
    xid: u32,
    program: u32,
    version: u32,
    procedure: u32,
    key: &[u8],
    token: Token,
) -> Bytes {
    let mut b = Vec::new();
    for w in [xid, 0, 2, program, version, procedure, 0, 0, 0, 0] {
        put(&mut b, w);
    }
    b.extend_from_slice(&args(key, token));
    Bytes::from(b)
}

/// The arguments of [`call`].
pub(crate) fn args(key: &[u8], token: Token) -> Vec<u8> {
    let mut b = Vec::new();
    put(&mut b, key.len() as u32);
    b.extend_from_slice(key);
    b.resize(b.len() + (4 - key.len() % 4) % 4, 0);
    put(&mut b, token.client);
    put(&mut b, token.seq);
    b
}

/// Status word of a result meaning "no such key" (as `DS_NOENT`).
pub(crate) const NOENT: u32 = 2;

/// The results of a simulated backend: a status word, then the key and
/// a token (the call's, or the value a read found).
pub(crate) fn results(status: u32, key: &[u8], token: Token) -> Vec<u8> {
    let mut b = Vec::new();
    put(&mut b, status);
    b.extend_from_slice(&args(key, token));
    b
}

/// [`results`] read back: status, key, token.
pub(crate) fn parse_results(r: &[u8]) -> Option<(u32, Vec<u8>, Token)> {
    let status = word(r, 0)?;
    let n = word(r, 1)? as usize;
    let key = r.get(8..8 + n)?.to_vec();
    let at = 2 + n.div_ceil(4);
    let token = Token {
        client: word(r, at)?,
        seq: word(r, at + 1)?,
    };
    (r.len() == (at + 2) * 4).then_some((status, key, token))
}

fn word(r: &[u8], i: usize) -> Option<u32> {
    let s = r.get(i * 4..i * 4 + 4)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}

/// A call as a backend sees it.
#[derive(Debug)]
pub(crate) struct SeenCall {
    pub(crate) xid: u32,
    pub(crate) program: u32,
    pub(crate) procedure: u32,
    /// The arguments (after header, credential and verifier).
    pub(crate) args: Bytes,
    pub(crate) key: Vec<u8>,
    pub(crate) token: Option<Token>,
}

pub(crate) fn parse_call(r: &Bytes) -> Option<SeenCall> {
    if word(r, 1)? != 0 || word(r, 2)? != 2 {
        return None;
    }
    let cred_len = word(r, 7)? as usize;
    let verf_at = 8 + cred_len.div_ceil(4);
    let verf_len = word(r, verf_at + 1)? as usize;
    let args_at = (verf_at + 2 + verf_len.div_ceil(4)) * 4;
    let args = r.slice(args_at.min(r.len())..);
    let (key, token) = match word(&args, 0) {
        Some(n) => {
            let n = n as usize;
            let key = args.get(4..4 + n).map(<[u8]>::to_vec).unwrap_or_default();
            let at = (4 + n).div_ceil(4);
            let token = word(&args, at)
                .zip(word(&args, at + 1))
                .map(|(client, seq)| Token { client, seq });
            (key, token)
        }
        None => (Vec::new(), None),
    };
    Some(SeenCall {
        xid: word(r, 0)?,
        program: word(r, 3)?,
        procedure: word(r, 5)?,
        args,
        key,
        token,
    })
}

/// A SUCCESS reply carrying `results`.
pub(crate) fn success(xid: u32, results: &[u8]) -> Bytes {
    let mut b = Vec::new();
    for w in [xid, 1, 0, 0, 0, 0] {
        put(&mut b, w);
    }
    b.extend_from_slice(results);
    Bytes::from(b)
}

/// How a reply answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Success(Bytes),
    ProgUnavail,
    ProgMismatch(u32, u32),
    SystemErr,
    Other(String),
}

pub(crate) fn parse_reply(r: &Bytes) -> Option<(u32, Answer)> {
    let xid = word(r, 0)?;
    if word(r, 1)? != 1 {
        return None;
    }
    if word(r, 2)? != 0 {
        return Some((xid, Answer::Other(format!("denied {:?}", word(r, 3)))));
    }
    let verf_len = word(r, 4)? as usize;
    let stat_at = 5 + verf_len.div_ceil(4);
    let answer = match word(r, stat_at)? {
        0 => Answer::Success(r.slice(((stat_at + 1) * 4).min(r.len())..)),
        1 => Answer::ProgUnavail,
        2 => Answer::ProgMismatch(word(r, stat_at + 1)?, word(r, stat_at + 2)?),
        5 => Answer::SystemErr,
        s => Answer::Other(format!("accept_stat {s}")),
    };
    Some((xid, answer))
}
