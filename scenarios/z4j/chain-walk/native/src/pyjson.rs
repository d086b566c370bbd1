//! Python's `json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"),
//! ensure_ascii=False)`, the form z4j signs row metadata in (the harness's
//! python-json.ts does the same in JavaScript). Anything it cannot reproduce
//! (NaN, a lone surrogate, nesting deeper than the parser allows) is an error:
//! the row is then left to the JavaScript walk. A wrong guess here could only
//! make a row's HMAC fail to match, never match one that should not.

use serde_json::Value;

/// Appends the canonical form of `text` to out; Err when it is not JSON Python would read and write back.
pub fn canonical(text: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    // z4j's empty metadata, by far the most common value.
    if text == b"{}" {
        out.extend_from_slice(b"{}");
        return Ok(());
    }
    let v: Value = serde_json::from_slice(text).map_err(|e| format!("metadata is not JSON this walk reads: {e}"))?;
    emit(&v, out)
}

fn emit(v: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::String(s) => quote(s.as_bytes(), out),
        Value::Number(n) => number(&n.to_string(), out)?,
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                emit(x, out)?;
            }
            out.push(b']');
        }
        Value::Object(m) => {
            // serde_json's map is ordered by its String keys, byte order of UTF-8, which is code point
            // order: Python's sort of str keys. A repeated key keeps its last value, as in Python.
            out.push(b'{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                quote(k.as_bytes(), out);
                out.push(b':');
                emit(x, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// A number as Python writes back what it read: an int exactly ("-0" is 0), a float as repr(float).
fn number(src: &str, out: &mut Vec<u8>) -> Result<(), String> {
    if !src.contains(['.', 'e', 'E']) {
        if src == "-0" {
            out.push(b'0');
        } else {
            out.extend_from_slice(src.as_bytes());
        }
        return Ok(());
    }
    let x: f64 = src.parse().map_err(|_| format!("number {src}"))?;
    out.extend_from_slice(float_repr(x)?.as_bytes());
    Ok(())
}

/// Python's repr(float): the shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16, else d.ddde±XX.
pub fn float_repr(x: f64) -> Result<String, String> {
    if !x.is_finite() {
        return Err(format!("Python's json refuses {x} here"));
    }
    if x == 0.0 {
        return Ok(if x.is_sign_negative() { "-0.0" } else { "0.0" }.into());
    }
    // Rust's {:e} prints the shortest round-trip digits, as Python's repr does.
    let e = format!("{:e}", x.abs());
    let (mant, exp) = e.split_once('e').ok_or("float format")?;
    let exp: i32 = exp.parse().map_err(|_| "float exponent")?;
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if x < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let s = if exp < 0 {
            format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        } else if digits.len() <= exp as usize + 1 {
            format!("{}{}.0", digits, "0".repeat(exp as usize + 1 - digits.len()))
        } else {
            format!("{}.{}", &digits[..exp as usize + 1], &digits[exp as usize + 1..])
        };
        return Ok(format!("{sign}{s}"));
    }
    Ok(format!("{sign}{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs()))
}

/// A JSON string as both Python (ensure_ascii=False) and JavaScript write it: only the quote,
/// the backslash and control characters escaped; the bytes must be UTF-8 already.
pub fn quote(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    // Most text needs no escape at all: one pass that the compiler vectorises, then one copy.
    if !s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
        out.extend_from_slice(s);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        let mut out = Vec::new();
        canonical(s.as_bytes(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn python_forms() {
        // Each expected text is what CPython 3.11 prints for json.dumps(json.loads(s), sort_keys=True, separators=(",", ":"), ensure_ascii=False).
        assert_eq!(canon(r#"{"b": 1, "a": [1.0, 1e-7, 1e16, 123456789012345678901234567890, -0, -0.0, 2.5e3]}"#), r#"{"a":[1.0,1e-07,1e+16,123456789012345678901234567890,0,-0.0,2500.0],"b":1}"#);
        assert_eq!(canon(r#"{"é": "caf\u00e9", "\ud83d\ude00": "\u2028", "": "\/"}"#), "{\"\":\"/\",\"é\":\"café\",\"😀\":\"\u{2028}\"}");
        assert_eq!(canon(r#"{"k": "a\"b\\c\n\u0001\u007f"}"#), "{\"k\":\"a\\\"b\\\\c\\n\\u0001\u{7f}\"}");
        assert_eq!(canon(r#"{"a": 1, "a": 2}"#), r#"{"a":2}"#);
        assert_eq!(canon("[0.0001, 0.00001, 1234567890123456.0, 0.1, 1e22]"), "[0.0001,1e-05,1234567890123456.0,0.1,1e+22]");
    }

    #[test]
    fn refusals() {
        let mut out = Vec::new();
        assert!(canonical(b"{\"a\": NaN}", &mut out).is_err());
        assert!(canonical(b"[1e400]", &mut out).is_err());
        assert!(canonical(b"{", &mut out).is_err());
    }
}
