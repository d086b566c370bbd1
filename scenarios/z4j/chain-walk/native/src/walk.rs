//! One rowid slice of the chain, walked from the pages: the same filter, chain
//! order check, message and links as page-walk.ts, whose field table arrives in
//! the request (so the signed layout is written down once, in TypeScript). The
//! walk only ever reports a slice as clean (every row verified and linked), in
//! disorder, or not clean / unsupported; the caller walks anything but a clean
//! slice again in JavaScript, which then decides.

use crate::pages::{Pages, Record, Unsupported};
use crate::pyjson;
use sha2::{Digest, Sha256};

/// How a payload field is written (the kinds of page-walk.ts's MESSAGE table).
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Text,
    TextOrNull,
    Uuid,
    Metadata,
    Timestamp,
    Int,
}

pub struct Field {
    /// The bytes written before the value (the row prefix and '{', or ',', then "name":).
    pub prefix: Vec<u8>,
    pub column: usize,
    pub kind: Kind,
}

/// Where the walk finds what it needs in each record.
pub struct Layout {
    pub root_page: u64,
    pub width: usize,
    pub fields: Vec<Field>,
    pub end: Vec<u8>,
    pub id: usize,
    pub row_hmac: usize,
    pub prev_hmac: usize,
    pub key_id: usize,
    pub frozen: usize,
    pub generation: usize,
    pub occurred_at: usize,
}

/// A signing key with its HMAC pad states precomputed (RFC 2104).
pub struct Key {
    pub id: Option<Vec<u8>>,
    inner: Sha256,
    outer: Sha256,
}

impl Key {
    pub fn new(key: &[u8], id: Option<Vec<u8>>) -> Key {
        let mut k0 = [0u8; 64];
        if key.len() > 64 {
            k0[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k0[..key.len()].copy_from_slice(key);
        }
        let (mut ip, mut op) = ([0u8; 64], [0u8; 64]);
        for i in 0..64 {
            ip[i] = k0[i] ^ 0x36;
            op[i] = k0[i] ^ 0x5c;
        }
        let mut inner = Sha256::new();
        inner.update(ip);
        let mut outer = Sha256::new();
        outer.update(op);
        Key { id, inner, outer }
    }

    /// HMAC-SHA256 of message, as lower-case hex.
    pub fn hex_mac(&self, message: &[u8]) -> [u8; 64] {
        let mut h = self.inner.clone();
        h.update(message);
        let mut o = self.outer.clone();
        o.update(h.finalize());
        let d = o.finalize();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in d.iter().enumerate() {
            out[2 * i] = HEX[(b >> 4) as usize];
            out[2 * i + 1] = HEX[(b & 15) as usize];
        }
        out
    }
}

pub enum Outcome {
    /// Every row verified and linked to the one before.
    Clean(Clean),
    /// A row's chain key was not strictly after the one before (or not printable ASCII).
    Disorder,
    /// A row failed its HMAC or its link: the JavaScript walk finds and reports it.
    NotClean(String),
    Unsupported(String),
}

pub struct Clean {
    pub length: u64,
    pub head_hmac: Option<String>,
    pub first_prev_hmac: Option<String>,
    pub first_row_id: Option<String>,
    pub first: Option<(String, String)>,
    pub last: Option<(String, String)>,
}

enum Stop {
    Disorder,
    Unsupported(String),
}

impl From<Unsupported> for Stop {
    fn from(u: Unsupported) -> Stop {
        Stop::Unsupported(u.0)
    }
}

fn unsupported<T>(rowid: u64, why: &str) -> Result<T, Stop> {
    Err(Stop::Unsupported(format!("row {rowid}: {why}")))
}

/// A column's text bytes, None for NULL; any other storage class is outside the model. The bytes
/// are not checked as UTF-8 here: they are signed as stored, and text Python signed is always
/// valid UTF-8, so bytes that are not could never verify (the row is then left to JavaScript).
fn text_or_null(r: &Record, c: usize) -> Result<Option<&[u8]>, Stop> {
    if r.is_null(c) {
        return Ok(None);
    }
    if !r.is_text(c) {
        return unsupported(r.rowid, "a value that is not text where text is stored");
    }
    Ok(Some(r.bytes(c)))
}

fn required(r: &Record, c: usize) -> Result<&[u8], Stop> {
    match text_or_null(r, c)? {
        Some(b) => Ok(b),
        None => unsupported(r.rowid, "NULL in a column the message needs"),
    }
}

const STORED_UTC_SHAPE: &[u8; 26] = b"dddd-dd-dd dd:dd:dd.dddddd";

fn write_field(out: &mut Vec<u8>, r: &Record, f: &Field) -> Result<(), Stop> {
    let c = f.column;
    match f.kind {
        Kind::Int => match r.int(c) {
            Some(v) => out.extend_from_slice(v.to_string().as_bytes()),
            None => return unsupported(r.rowid, "an integer column holds another type"),
        },
        Kind::Metadata => pyjson::canonical(required(r, c)?, out).map_err(|e| Stop::Unsupported(format!("row {}: {e}", r.rowid)))?,
        Kind::Timestamp => {
            // "YYYY-MM-DD HH:MM:SS.ffffff" (UTC) signed as "YYYY-MM-DDTHH:MM:SS.ffffff+00:00"; other forms are left to JavaScript.
            let t = required(r, c)?;
            let plain = t.len() == 26 && t.iter().zip(STORED_UTC_SHAPE).all(|(b, w)| if *w == b'd' { b.is_ascii_digit() } else { b == w });
            if !plain {
                return unsupported(r.rowid, "a timestamp not in the stored UTC form");
            }
            out.push(b'"');
            out.extend_from_slice(&t[..10]);
            out.push(b'T');
            out.extend_from_slice(&t[11..]);
            out.extend_from_slice(b"+00:00\"");
        }
        Kind::Uuid => match text_or_null(r, c)? {
            None => out.extend_from_slice(b"null"),
            Some(t) => {
                // Stored as 32 hex digits, signed in the dashed lower-case form; text of another length as it is
                // (length in UTF-16 units, as JavaScript's uuid() counts; 32 such units of non-ASCII text would need
                // Unicode lower-casing, left to JavaScript).
                if !t.is_ascii() {
                    if std::str::from_utf8(t).map(|s| s.encode_utf16().count()) == Ok(32) {
                        return unsupported(r.rowid, "a uuid column holds 32 characters of non-ASCII text");
                    }
                    pyjson::quote(t, out);
                } else if t.len() == 32 {
                    let mut d = Vec::with_capacity(36);
                    for (i, b) in t.iter().enumerate() {
                        if i == 8 || i == 12 || i == 16 || i == 20 {
                            d.push(b'-');
                        }
                        d.push(b.to_ascii_lowercase());
                    }
                    pyjson::quote(&d, out);
                } else {
                    pyjson::quote(t, out);
                }
            }
        },
        Kind::TextOrNull => match text_or_null(r, c)? {
            None => out.extend_from_slice(b"null"),
            Some(t) => pyjson::quote(t, out),
        },
        Kind::Text => pyjson::quote(required(r, c)?, out),
    }
    Ok(())
}

/// The id as the walk names rows: 32 characters dashed and lower-cased, anything else as it is.
fn row_id(id: &[u8]) -> String {
    let s = String::from_utf8_lossy(id);
    if id.len() != 32 {
        return s.into_owned();
    }
    format!("{}-{}-{}-{}-{}", &s[..8], &s[8..12], &s[12..16], &s[16..20], &s[20..]).to_ascii_lowercase()
}

fn printable(b: &[u8]) -> bool {
    b.iter().all(|c| (0x20..=0x7e).contains(c))
}

/// Text reported back: printable ASCII keys, verified hex HMACs, or a first link checked as UTF-8.
fn string(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Walks rows lo <= rowid < hi of the table in rowid order.
pub fn walk_slice(path: &str, layout: &Layout, generation: &[u8], keys: &[Key], lo: u64, hi: u64) -> Outcome {
    if keys.is_empty() {
        // With no key no row verifies: never clean.
        return Outcome::NotClean("no key".into());
    }
    let mut pages = match Pages::open(path, layout.width.max(64)) {
        Ok(p) => p,
        Err(u) => return Outcome::Unsupported(u.0),
    };
    let mut msg: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut clean = Clean { length: 0, head_hmac: None, first_prev_hmac: None, first_row_id: None, first: None, last: None };
    let mut last_key: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut last_hmac: Vec<u8> = Vec::new();
    let mut broken: Option<String> = None;
    let mut on_row = |r: &Record| -> Result<bool, Stop> {
        if r.columns() != layout.width {
            return unsupported(r.rowid, "a record with another number of columns than the table");
        }
        // The SQL reader's filter: legacy_frozen = 0 AND chain_generation = ?.
        match r.int(layout.frozen) {
            None => return unsupported(r.rowid, "legacy_frozen is not an integer"),
            Some(0) => {}
            Some(_) => return Ok(true),
        }
        if r.is_null(layout.generation) {
            return Ok(true);
        }
        if !r.is_text(layout.generation) {
            return unsupported(r.rowid, "chain_generation is not text");
        }
        if r.bytes(layout.generation) != generation {
            return Ok(true);
        }

        // Chain order: (occurred_at, id) strictly increasing, both printable ASCII (where byte order is SQLite's and JavaScript's order).
        let at = text_or_null(r, layout.occurred_at)?;
        let id = text_or_null(r, layout.id)?;
        let (at, id) = match (at, id) {
            (Some(a), Some(i)) if printable(a) && printable(i) => (a, i),
            _ => return Err(Stop::Disorder),
        };
        match &mut last_key {
            None => {
                clean.first = Some((string(at), string(id)));
                last_key = Some((at.to_vec(), id.to_vec()));
            }
            Some((pa, pi)) => {
                if !(at > pa.as_slice() || (at == pa.as_slice() && id > pi.as_slice())) {
                    return Err(Stop::Disorder);
                }
                pa.clear();
                pa.extend_from_slice(at);
                pi.clear();
                pi.extend_from_slice(id);
            }
        }

        if broken.is_some() {
            // A problem was found: only the order is still checked, so rows out of chain order are reported as such
            // (the caller then walks in chain order) rather than as the problem the disorder caused.
            return Ok(true);
        }
        let row_hmac = match text_or_null(r, layout.row_hmac)? {
            Some(h) => h,
            None => return unsupported(r.rowid, "row_hmac is NULL"),
        };
        let prev = text_or_null(r, layout.prev_hmac)?;
        let key_id = text_or_null(r, layout.key_id)?;

        msg.clear();
        for f in &layout.fields {
            msg.extend_from_slice(&f.prefix);
            write_field(&mut msg, r, f)?;
        }
        msg.extend_from_slice(&layout.end);

        if clean.length == 0 {
            // The one stored text reported back without being verified or checked as ASCII.
            if prev.is_some_and(|p| std::str::from_utf8(p).is_err()) {
                return unsupported(r.rowid, "prev_row_hmac is not UTF-8");
            }
            clean.first_prev_hmac = prev.map(string);
            clean.first_row_id = Some(row_id(id));
        } else if prev != Some(last_hmac.as_slice()) {
            broken = Some(format!("row {}: its previous-HMAC is not the row before's", r.rowid));
            return Ok(true);
        }
        // A key with an id is tried only on rows that name no key or name it, as the JavaScript walker does.
        let verified = keys.iter().any(|k| {
            if let (Some(kid), Some(rid)) = (&k.id, key_id) {
                if kid.as_slice() != rid {
                    return false;
                }
            }
            k.hex_mac(&msg).as_slice() == row_hmac
        });
        if !verified {
            broken = Some(format!("row {}: its HMAC does not match", r.rowid));
            return Ok(true);
        }
        last_hmac.clear();
        last_hmac.extend_from_slice(row_hmac);
        clean.length += 1;
        Ok(true)
    };
    let scanned = pages.scan(layout.root_page, lo, hi, &mut on_row);
    drop(on_row);
    match scanned {
        Ok(()) if broken.is_some() => Outcome::NotClean(broken.unwrap_or_default()),
        Ok(()) => {
            if clean.length > 0 {
                clean.head_hmac = Some(string(&last_hmac));
            }
            if let Some((a, i)) = last_key {
                clean.last = Some((string(&a), string(&i)));
            }
            Outcome::Clean(clean)
        }
        Err(Stop::Disorder) => Outcome::Disorder,
        Err(Stop::Unsupported(w)) => Outcome::Unsupported(w),
    }
}
