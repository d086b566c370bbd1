//! restore-drill's native chain walk. Reads one request (JSON) on standard
//! input: the database file, where audit_log and its columns are, the signed
//! message's field table, the generation, the keys, and the rowid slices; walks
//! each slice on its own thread and prints one JSON result per slice. Keys come
//! only through standard input (never arguments or the environment) and are
//! never printed. Exit status 0 whenever a result was printed; 2 for a request
//! it cannot read.

mod pages;
mod pyjson;
mod walk;

use serde_json::{json, Map, Value};
use std::io::Read;
use walk::{Field, Key, Kind, Layout, Outcome};

fn main() {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        fail(&format!("cannot read the request: {e}"));
    }
    let req: Value = serde_json::from_slice(&input).unwrap_or_else(|e| fail(&format!("the request is not JSON: {e}")));
    let (path, layout, generation, keys, slices) = parse(&req).unwrap_or_else(|e| fail(&e));
    let results: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = slices
            .iter()
            .map(|&(lo, hi)| {
                let (path, layout, generation, keys) = (&path, &layout, &generation, &keys);
                s.spawn(move || walk::walk_slice(path, layout, generation, keys, lo, hi))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(outcome) => result(outcome),
                // A panic is a bug or a file beyond the model: the JavaScript walk takes the slice.
                Err(_) => json!({ "status": "unsupported", "why": "the native walk stopped unexpectedly" }),
            })
            .collect()
    });
    println!("{}", json!({ "slices": results }));
}

fn fail(why: &str) -> ! {
    eprintln!("z4j-chain-walk: {why}");
    std::process::exit(2);
}

fn result(o: Outcome) -> Value {
    match o {
        Outcome::Clean(c) => {
            let mut m = Map::new();
            m.insert("status".into(), json!("clean"));
            m.insert("length".into(), json!(c.length));
            m.insert("headHmac".into(), json!(c.head_hmac));
            m.insert("firstPrevHmac".into(), json!(c.first_prev_hmac));
            if let Some(id) = c.first_row_id.filter(|s| !s.is_empty()) {
                m.insert("firstRowId".into(), json!(id));
            }
            if let Some((a, i)) = c.first {
                m.insert("first".into(), json!([a, i]));
            }
            if let Some((a, i)) = c.last {
                m.insert("last".into(), json!([a, i]));
            }
            Value::Object(m)
        }
        Outcome::Disorder => json!({ "status": "disorder" }),
        Outcome::NotClean(why) => json!({ "status": "not-clean", "why": why }),
        Outcome::Unsupported(why) => json!({ "status": "unsupported", "why": why }),
    }
}

type Request = (String, Layout, Vec<u8>, Vec<Key>, Vec<(u64, u64)>);

fn parse(req: &Value) -> Result<Request, String> {
    let field = |k: &str| req.get(k).ok_or_else(|| format!("the request has no {k}"));
    let uint = |v: &Value, what: &str| v.as_u64().ok_or_else(|| format!("{what} is not a non-negative integer"));
    let text = |v: &Value, what: &str| v.as_str().map(str::to_owned).ok_or_else(|| format!("{what} is not text"));
    let hex = |v: &Value, what: &str| -> Result<Vec<u8>, String> {
        let s = v.as_str().ok_or_else(|| format!("{what} is not text"))?;
        if s.len() % 2 != 0 {
            return Err(format!("{what} is not hex"));
        }
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| format!("{what} is not hex"))).collect()
    };
    let path = text(field("path")?, "path")?;
    let width = uint(field("width")?, "width")? as usize;
    let col = |v: &Value, what: &str| -> Result<usize, String> {
        let c = uint(v, what)? as usize;
        if c >= width {
            return Err(format!("{what} is beyond the table's width"));
        }
        Ok(c)
    };
    let mut fields = Vec::new();
    for f in field("fields")?.as_array().ok_or("fields is not a list")? {
        let kind = match f.get("kind").and_then(Value::as_str) {
            Some("text") => Kind::Text,
            Some("text?") => Kind::TextOrNull,
            Some("uuid") => Kind::Uuid,
            Some("metadata") => Kind::Metadata,
            Some("timestamp") => Kind::Timestamp,
            Some("int") => Kind::Int,
            other => return Err(format!("unknown field kind {other:?}")),
        };
        fields.push(Field { prefix: hex(f.get("prefix").unwrap_or(&Value::Null), "a field's prefix")?, column: col(f.get("column").unwrap_or(&Value::Null), "a field's column")?, kind });
    }
    let roles = field("roles")?;
    let role = |k: &str| col(roles.get(k).unwrap_or(&Value::Null), k);
    let layout = Layout {
        root_page: uint(field("rootPage")?, "rootPage")?,
        width,
        fields,
        end: hex(field("end")?, "end")?,
        id: role("id")?,
        row_hmac: role("rowHmac")?,
        prev_hmac: role("prevHmac")?,
        key_id: role("keyId")?,
        frozen: role("frozen")?,
        generation: role("generation")?,
        occurred_at: role("occurredAt")?,
    };
    let generation = text(field("generation")?, "generation")?.into_bytes();
    let mut keys = Vec::new();
    for k in field("keys")?.as_array().ok_or("keys is not a list")? {
        let id = match k.get("id") {
            None | Some(Value::Null) => None,
            Some(v) => Some(text(v, "a key's id")?.into_bytes()),
        };
        keys.push(Key::new(&hex(k.get("key").unwrap_or(&Value::Null), "a key")?, id));
    }
    let mut slices = Vec::new();
    for s in field("slices")?.as_array().ok_or("slices is not a list")? {
        let bound = |k: &str, open: u64| match s.get(k) {
            None | Some(Value::Null) => Ok(open),
            Some(v) => uint(v, k),
        };
        slices.push((bound("lo", 0)?, bound("hi", u64::MAX)?));
    }
    if slices.is_empty() {
        return Err("no slices".into());
    }
    Ok((path, layout, generation, keys, slices))
}
