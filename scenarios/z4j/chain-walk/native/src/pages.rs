//! A rowid table of a SQLite file read straight from its pages, in rowid order,
//! each row handed over as its record bytes. The same model as the harness's
//! sqlite-pages.ts: whatever it does not model (a write-ahead log or journal,
//! text not in UTF-8, a damaged page) is refused with `Unsupported`, and the
//! caller then reads with SQLite. It never writes.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// Why the file (or a row) is outside what this reader models.
#[derive(Debug)]
pub struct Unsupported(pub String);

pub type Res<T> = Result<T, Unsupported>;

pub fn unsupported<T>(why: impl Into<String>) -> Res<T> {
    Err(Unsupported(why.into()))
}

const MAGIC: &[u8] = b"SQLite format 3\0";
const LEAF_TABLE: u8 = 0x0d;
const INTERIOR_TABLE: u8 = 0x05;
/// Pages read at a time, and how many such chunks are kept.
const CHUNK_PAGES: usize = 64;
const CHUNKS_KEPT: usize = 4;
/// Rowids beyond this are refused, as the JavaScript reader refuses them (it works in doubles).
pub const MAX_ROWID: u64 = (1 << 53) - 1;

/// One row's record: per column its serial type and where its content starts in `buf`.
pub struct Record {
    pub rowid: u64,
    pub buf: Vec<u8>,
    pub types: Vec<u64>,
    pub offsets: Vec<usize>,
}

impl Record {
    pub fn columns(&self) -> usize {
        self.types.len()
    }
    /// The content of column c (text or blob), or empty for other types.
    pub fn bytes(&self, c: usize) -> &[u8] {
        let t = self.types[c];
        let o = self.offsets[c];
        if t >= 12 {
            &self.buf[o..o + ((t as usize - 12) >> 1)]
        } else {
            &[]
        }
    }
    pub fn is_null(&self, c: usize) -> bool {
        self.types[c] == 0
    }
    pub fn is_text(&self, c: usize) -> bool {
        let t = self.types[c];
        t >= 13 && t & 1 == 1
    }
    /// The integer in a column of integer serial type (1-6, 8, 9); None for any other type.
    pub fn int(&self, c: usize) -> Option<i64> {
        let o = self.offsets[c];
        let b = &self.buf;
        let signed = |n: usize| -> i64 {
            let mut v: i64 = if b[o] & 0x80 != 0 { -1 } else { 0 };
            for i in 0..n {
                v = (v << 8) | b[o + i] as i64;
            }
            v
        };
        match self.types[c] {
            8 => Some(0),
            9 => Some(1),
            1 => Some(signed(1)),
            2 => Some(signed(2)),
            3 => Some(signed(3)),
            4 => Some(signed(4)),
            5 => Some(signed(6)),
            6 => Some(signed(8)),
            _ => None,
        }
    }
}

pub struct Pages {
    file: File,
    pub page_size: usize,
    pub usable: usize,
    pub page_count: u64,
    /// (chunk number, bytes), oldest first.
    chunks: Vec<(u64, Vec<u8>)>,
    max_columns: usize,
}

impl Pages {
    pub fn open(path: &str, max_columns: usize) -> Res<Pages> {
        // A write-ahead log or a rollback journal beside the file may change what SQLite reads: not modelled.
        for side in ["-wal", "-journal"] {
            if let Ok(m) = std::fs::metadata(format!("{path}{side}")) {
                if m.len() > 0 {
                    return unsupported(format!("a {} file lies beside the database", &side[1..]));
                }
            }
        }
        let file = File::open(path).map_err(|e| Unsupported(format!("cannot open the database: {e}")))?;
        let mut head = [0u8; 100];
        if file.read_exact_at(&mut head, 0).is_err() || &head[..16] != MAGIC {
            return unsupported("not a SQLite database file");
        }
        let raw = u16::from_be_bytes([head[16], head[17]]) as usize;
        let page_size = if raw == 1 { 65536 } else { raw };
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return unsupported(format!("page size {raw}"));
        }
        // Format versions 2 mean WAL mode: the WAL, not this file, may hold the newest pages.
        if head[18] != 1 || head[19] != 1 {
            return unsupported("the file is in WAL mode");
        }
        if u32::from_be_bytes(head[56..60].try_into().unwrap()) != 1 {
            return unsupported("text encoding is not UTF-8");
        }
        let usable = page_size - head[20] as usize;
        if usable < 480 {
            return unsupported("too many reserved bytes per page");
        }
        let size = file.metadata().map_err(|e| Unsupported(e.to_string()))?.len();
        let page_count = size / page_size as u64;
        if page_count * page_size as u64 != size {
            return unsupported("the file is not a whole number of pages");
        }
        let be32 = |o: usize| u32::from_be_bytes(head[o..o + 4].try_into().unwrap());
        // The header's page count is valid only when its change counter matches (SQLite's own rule).
        if be32(24) == be32(92) && be32(28) as u64 != page_count {
            return unsupported("the header and the file disagree on the page count");
        }
        Ok(Pages { file, page_size, usable, page_count, chunks: Vec::new(), max_columns })
    }

    /// Copies page n (1-based) into out.
    fn page(&mut self, n: u64, out: &mut Vec<u8>) -> Res<()> {
        if n < 1 || n > self.page_count {
            return unsupported(format!("page {n} is outside the file"));
        }
        let c = (n - 1) / CHUNK_PAGES as u64;
        let at = ((n - 1) % CHUNK_PAGES as u64) as usize * self.page_size;
        let i = match self.chunks.iter().position(|(k, _)| *k == c) {
            Some(i) => i,
            None => {
                let pages = (CHUNK_PAGES as u64).min(self.page_count - c * CHUNK_PAGES as u64) as usize;
                // The oldest chunk's buffer is reused: a scan of gigabytes allocates nothing.
                let mut buf = if self.chunks.len() >= CHUNKS_KEPT { self.chunks.remove(0).1 } else { Vec::new() };
                buf.resize(pages * self.page_size, 0);
                self.file
                    .read_exact_at(&mut buf, c * (CHUNK_PAGES * self.page_size) as u64)
                    .map_err(|_| Unsupported("short read".into()))?;
                self.chunks.push((c, buf));
                self.chunks.len() - 1
            }
        };
        out.clear();
        out.extend_from_slice(&self.chunks[i].1[at..at + self.page_size]);
        Ok(())
    }

    /// Calls on_row for every row of the table rooted at root with lo <= rowid < hi, in rowid order.
    /// The record is reused between calls. on_row returns false to stop the scan.
    pub fn scan<E>(&mut self, root: u64, lo: u64, hi: u64, on_row: &mut dyn FnMut(&Record) -> Result<bool, E>) -> Result<(), E>
    where
        E: From<Unsupported>,
    {
        let mut rec = Record { rowid: 0, buf: Vec::new(), types: Vec::with_capacity(self.max_columns), offsets: Vec::with_capacity(self.max_columns) };
        self.visit(root, lo, hi, 0, &mut rec, on_row).map(|_| ())
    }

    /// Ok(false) when the scan is over (past hi, or on_row asked to stop).
    fn visit<E>(&mut self, page_no: u64, lo: u64, hi: u64, depth: u32, rec: &mut Record, on_row: &mut dyn FnMut(&Record) -> Result<bool, E>) -> Result<bool, E>
    where
        E: From<Unsupported>,
    {
        if depth > 40 {
            return Err(Unsupported("the table tree is deeper than any real one".into()).into());
        }
        let mut page = Vec::with_capacity(self.page_size);
        self.page(page_no, &mut page)?;
        let hdr = if page_no == 1 { 100 } else { 0 };
        let kind = page[hdr];
        let cells = u16::from_be_bytes([page[hdr + 3], page[hdr + 4]]) as usize;
        let header_len = if kind == INTERIOR_TABLE { 12 } else { 8 };
        // The cell pointer array must fit in the page.
        if hdr + header_len + 2 * cells > self.page_size {
            return Err(Unsupported(format!("page {page_no} claims more cells than fit")).into());
        }
        let ptrs = hdr + header_len;
        let be16 = |p: &[u8], o: usize| u16::from_be_bytes([p[o], p[o + 1]]) as usize;
        let be32 = |p: &[u8], o: usize| u32::from_be_bytes(p[o..o + 4].try_into().unwrap()) as u64;
        if kind == INTERIOR_TABLE {
            for i in 0..cells {
                let at = be16(&page, ptrs + 2 * i);
                if at < ptrs + 2 * cells || at > self.page_size - 5 {
                    return Err(Unsupported(format!("page {page_no}: a cell pointer outside the cell area")).into());
                }
                let child = be32(&page, at);
                // The left child holds rowids <= key: skip it when the whole of it lies below lo.
                let (key, _) = varint(&page, at + 4)?;
                if key > MAX_ROWID {
                    return Err(Unsupported(format!("page {page_no}: a rowid beyond 2^53 or negative")).into());
                }
                if key >= lo && !self.visit(child, lo, hi, depth + 1, rec, on_row)? {
                    return Ok(false);
                }
                if key >= hi {
                    return Ok(false);
                }
            }
            let right = be32(&page, hdr + 8);
            return self.visit(right, lo, hi, depth + 1, rec, on_row);
        }
        if kind != LEAF_TABLE {
            return Err(Unsupported(format!("page {page_no} is not a table page (type {kind})")).into());
        }
        let mut overflow = Vec::new();
        for i in 0..cells {
            let at = be16(&page, ptrs + 2 * i);
            if at < ptrs + 2 * cells || at > self.page_size - 4 {
                return Err(Unsupported(format!("page {page_no}: a cell pointer outside the cell area")).into());
            }
            let (size, n1) = varint(&page, at)?;
            let (rowid, n2) = varint(&page, at + n1)?;
            let p = at + n1 + n2;
            if rowid > MAX_ROWID {
                return Err(Unsupported(format!("page {page_no}: a rowid beyond 2^53 or negative")).into());
            }
            if rowid < lo {
                continue;
            }
            if rowid >= hi {
                return Ok(false);
            }
            // A damaged size must not become an allocation: no payload is larger than the file's pages hold.
            if size > self.page_count * self.usable as u64 {
                return Err(Unsupported(format!("page {page_no}: a payload larger than the file")).into());
            }
            let size = size as usize;
            let local = self.local_bytes(size);
            rec.rowid = rowid;
            rec.buf.clear();
            if local == size {
                if p + size > self.page_size {
                    return Err(Unsupported(format!("a cell on page {page_no} runs past the page")).into());
                }
                rec.buf.extend_from_slice(&page[p..p + size]);
            } else {
                if p + local + 4 > self.page_size {
                    return Err(Unsupported(format!("a cell on page {page_no} runs past the page")).into());
                }
                rec.buf.extend_from_slice(&page[p..p + local]);
                let mut next = be32(&page, p + local);
                let mut hops = 0u64;
                while rec.buf.len() < size {
                    hops += 1;
                    if next == 0 || hops > self.page_count {
                        return Err(Unsupported("an overflow chain ends early or loops".into()).into());
                    }
                    self.page(next, &mut overflow)?;
                    let take = (size - rec.buf.len()).min(self.usable - 4);
                    rec.buf.extend_from_slice(&overflow[4..4 + take]);
                    next = be32(&overflow, 0);
                }
            }
            self.decode_record(rec)?;
            if !on_row(rec)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// How much of a payload of `size` bytes a table leaf keeps on the page (SQLite's file format, 1.6).
    fn local_bytes(&self, size: usize) -> usize {
        let x = self.usable - 35;
        if size <= x {
            return size;
        }
        let m = ((self.usable - 12) * 32) / 255 - 23;
        let k = m + ((size - m) % (self.usable - 4));
        if k <= x {
            k
        } else {
            m
        }
    }

    fn decode_record(&self, rec: &mut Record) -> Res<()> {
        let size = rec.buf.len();
        let (header_size, n) = varint(&rec.buf, 0)?;
        let header_size = header_size as usize;
        if header_size > size || header_size < n {
            return unsupported(format!("row {}: a record header larger than its record", rec.rowid));
        }
        rec.types.clear();
        rec.offsets.clear();
        let mut h = n;
        let mut body = header_size;
        while h < header_size {
            if rec.types.len() >= self.max_columns {
                return unsupported(format!("row {}: more columns than expected", rec.rowid));
            }
            let (t, m) = varint(&rec.buf[..header_size], h)?;
            h += m;
            rec.types.push(t);
            rec.offsets.push(body);
            body += serial_length(t)?;
        }
        if body != size {
            return unsupported(format!("row {}: the record's columns do not fill its payload", rec.rowid));
        }
        Ok(())
    }
}

fn serial_length(t: u64) -> Res<usize> {
    const INT_BYTES: [usize; 10] = [0, 1, 2, 3, 4, 6, 8, 8, 0, 0];
    if t < 10 {
        return Ok(INT_BYTES[t as usize]);
    }
    if t < 12 {
        return unsupported(format!("reserved serial type {t}"));
    }
    if t > u32::MAX as u64 {
        return unsupported("a column larger than any page holds");
    }
    Ok(((t - 12) >> 1) as usize)
}

/// SQLite's big-endian varint at p: (value, bytes). Running off the buffer is a damaged file.
pub fn varint(buf: &[u8], p: usize) -> Res<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..8 {
        let b = *buf.get(p + i).ok_or_else(|| Unsupported("a varint runs past its page".into()))?;
        v = (v << 7) | (b & 0x7f) as u64;
        if b < 0x80 {
            return Ok((v, i + 1));
        }
    }
    let b = *buf.get(p + 8).ok_or_else(|| Unsupported("a varint runs past its page".into()))?;
    Ok(((v << 8) | b as u64, 9))
}
