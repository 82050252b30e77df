//! A table-driven protobuf reader: walks a Kubernetes message with the
//! descriptors of [`super::schema`] and writes the JSON Go's encoder would
//! write for the same object. A field the tables do not know is an error,
//! never dropped.

use base64::Engine;
use serde_json::{Map as Object, Value};

use super::ProtobufError;

/// How Go's JSON encoder writes a field, given what Go's protobuf encoder
/// puts on the wire (it writes every non-pointer field, zero or not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Card {
    /// Non-pointer scalar without `omitempty`: always written (the zero
    /// value when the body lacks it).
    Always,
    /// Non-pointer scalar with `omitempty`: written unless zero.
    NonZero,
    /// Pointer scalar, or any message: written when the body has it.
    Present,
    /// `repeated`: a JSON array, left out when empty.
    List,
    /// `map<string, V>` (repeated key=1/value=2 entries): a JSON object,
    /// left out when empty.
    Map,
    /// An embedded Go struct (`json:",inline"`): its fields go into the parent.
    Inline,
}

/// The type of a field (of a list's items, of a map's values).
#[derive(Clone, Copy, Debug)]
pub(super) enum Ty {
    Str,
    I32,
    I64,
    Bool,
    /// `[]byte`: base64 in JSON.
    Bytes,
    Msg(&'static Message),
    /// `meta.v1.Time` {seconds=1, nanos=2}: RFC 3339 in seconds, null when zero.
    Time,
    /// `resource.Quantity` {string=1}: its string.
    Quantity,
    /// `intstr.IntOrString` {type=1, intVal=2, strVal=3}: a number or a string.
    IntOrString,
    /// `meta.v1.FieldsV1` {Raw=1}: the raw bytes are JSON.
    FieldsV1,
}

/// A field: number, JSON name, how it is written, type.
#[derive(Debug)]
pub(super) struct Field(pub u32, pub &'static str, pub Card, pub Ty);

/// A message descriptor.
#[derive(Debug)]
pub(super) struct Message {
    /// Shown in errors (`v1.PodSpec`, `apps/v1.DeploymentSpec`).
    pub name: &'static str,
    /// Sorted by number.
    pub fields: &'static [Field],
}

const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

/// Deeper than any Kubernetes object nests.
const MAX_DEPTH: usize = 64;

/// Decodes `bytes` as `msg` into a JSON object.
pub(super) fn decode(
    msg: &'static Message,
    bytes: &[u8],
) -> Result<Object<String, Value>, ProtobufError> {
    message(msg, bytes, 0)
}

fn malformed(message: &'static str, detail: impl Into<String>) -> ProtobufError {
    ProtobufError::Malformed {
        message,
        detail: detail.into(),
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    msg: &'static str,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value = 0u64;
        for (i, &b) in self.buf.iter().enumerate().take(10) {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                if i == 9 && b > 1 {
                    break;
                }
                self.buf = &self.buf[i + 1..];
                return Ok(value);
            }
        }
        Err(malformed(self.msg, "truncated or overlong varint"))
    }

    fn len_delimited(&mut self) -> Result<&'a [u8], ProtobufError> {
        let len = self.varint()?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= self.buf.len())
            .ok_or_else(|| malformed(self.msg, "length past the end of the body"))?;
        let (head, tail) = self.buf.split_at(len);
        self.buf = tail;
        Ok(head)
    }

    /// Reads a field key, checking the field is known.
    fn key(&mut self, msg: &'static Message) -> Result<(&'static Field, u64), ProtobufError> {
        let key = self.varint()?;
        let (num, wire) = (key >> 3, key & 7);
        let field = u32::try_from(num)
            .ok()
            .filter(|&n| n != 0)
            .ok_or_else(|| malformed(msg.name, format!("invalid field number {num}")))?;
        let Ok(i) = msg.fields.binary_search_by_key(&field, |f| f.0) else {
            return Err(ProtobufError::UnknownField {
                message: msg.name,
                field,
            });
        };
        Ok((&msg.fields[i], wire))
    }
}

fn message(
    msg: &'static Message,
    bytes: &[u8],
    depth: usize,
) -> Result<Object<String, Value>, ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(malformed(msg.name, "nested too deeply"));
    }
    let mut out = Object::new();
    let mut r = Reader {
        buf: bytes,
        msg: msg.name,
    };
    while !r.buf.is_empty() {
        let (field @ Field(num, json, card, ty), wire) = r.key(msg)?;
        let wrong_wire = || {
            malformed(
                msg.name,
                format!("field {num} ({json}) has wire type {wire}"),
            )
        };
        match card {
            Card::List => {
                let mut items = Vec::new();
                if wire == LEN && matches!(ty, Ty::I32 | Ty::I64 | Ty::Bool) {
                    // packed
                    let mut packed = Reader {
                        buf: r.len_delimited()?,
                        msg: msg.name,
                    };
                    while !packed.buf.is_empty() {
                        let v = packed.varint()?;
                        items.push(varint_value(*ty, v));
                    }
                } else if let Some(v) = value(msg, field, *ty, wire, &mut r, depth)? {
                    items.push(v);
                }
                let list = out.entry(*json).or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = list {
                    list.extend(items);
                }
            }
            Card::Map => {
                if wire != LEN {
                    return Err(wrong_wire());
                }
                let (k, v) = map_entry(msg, field, r.len_delimited()?, depth)?;
                let map = out
                    .entry(*json)
                    .or_insert_with(|| Value::Object(Object::new()));
                if let Value::Object(map) = map {
                    map.insert(k, v);
                }
            }
            Card::Inline => {
                let Ty::Msg(inner) = ty else {
                    return Err(malformed(msg.name, "inline field is not a message"));
                };
                if wire != LEN {
                    return Err(wrong_wire());
                }
                let fields = message(inner, r.len_delimited()?, depth + 1)?;
                out.extend(fields);
            }
            Card::Always | Card::Present => match value(msg, field, *ty, wire, &mut r, depth)? {
                Some(Value::Object(new)) => match out.get_mut(*json) {
                    // a message field given twice: protobuf merges
                    Some(Value::Object(old)) => old.extend(new),
                    _ => {
                        out.insert((*json).into(), Value::Object(new));
                    }
                },
                Some(v) => {
                    out.insert((*json).into(), v);
                }
                None => {
                    out.remove(*json);
                }
            },
            Card::NonZero => match value(msg, field, *ty, wire, &mut r, depth)? {
                Some(v) if !is_zero(&v) => {
                    out.insert((*json).into(), v);
                }
                _ => {
                    out.remove(*json);
                }
            },
        }
    }
    for Field(_, json, card, ty) in msg.fields {
        match card {
            Card::Always if !out.contains_key(*json) => {
                if let Some(zero) = zero(*ty) {
                    out.insert((*json).into(), zero);
                }
            }
            Card::List
                if out
                    .get(*json)
                    .is_some_and(|v| v.as_array().is_some_and(Vec::is_empty)) =>
            {
                out.remove(*json);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// One value of type `ty` (None: a zero Time, which Go writes as null).
fn value(
    msg: &'static Message,
    Field(num, json, _, _): &Field,
    ty: Ty,
    wire: u64,
    r: &mut Reader<'_>,
    depth: usize,
) -> Result<Option<Value>, ProtobufError> {
    let scalar = matches!(ty, Ty::I32 | Ty::I64 | Ty::Bool);
    let want = if scalar { VARINT } else { LEN };
    if wire != want {
        return Err(match wire {
            VARINT | FIXED64 | LEN | FIXED32 => malformed(
                msg.name,
                format!("field {num} ({json}) has wire type {wire}, expected {want}"),
            ),
            _ => malformed(msg.name, format!("unsupported wire type {wire}")),
        });
    }
    if scalar {
        return Ok(Some(varint_value(ty, r.varint()?)));
    }
    let bytes = r.len_delimited()?;
    Ok(match ty {
        Ty::Bytes => Some(Value::String(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        )),
        Ty::Msg(inner) => Some(Value::Object(message(inner, bytes, depth + 1)?)),
        Ty::Time => time(bytes)?,
        Ty::Quantity => Some(quantity(bytes)?),
        Ty::IntOrString => Some(int_or_string(bytes)?),
        Ty::FieldsV1 => Some(fields_v1(bytes)?),
        // strings (the scalars returned above)
        _ => Some(Value::String(String::from_utf8_lossy(bytes).into_owned())),
    })
}

fn varint_value(ty: Ty, v: u64) -> Value {
    match ty {
        Ty::Bool => Value::Bool(v != 0),
        // Go keeps the low 32 bits of an int32 varint
        Ty::I32 => Value::from(v as u32 as i32),
        _ => Value::from(v as i64),
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Null => true,
        _ => false,
    }
}

/// Go's zero value of a scalar, as JSON.
fn zero(ty: Ty) -> Option<Value> {
    match ty {
        Ty::Str | Ty::Bytes => Some(Value::String(String::new())),
        Ty::I32 | Ty::I64 => Some(Value::from(0)),
        Ty::Bool => Some(Value::Bool(false)),
        _ => None,
    }
}

fn map_entry(
    msg: &'static Message,
    field: &Field,
    bytes: &[u8],
    depth: usize,
) -> Result<(String, Value), ProtobufError> {
    let Field(num, json, _, ty) = field;
    let mut r = Reader {
        buf: bytes,
        msg: msg.name,
    };
    let (mut key, mut val) = (String::new(), None);
    while !r.buf.is_empty() {
        let k = r.varint()?;
        match (k >> 3, k & 7) {
            (1, LEN) => key = String::from_utf8_lossy(r.len_delimited()?).into_owned(),
            (2, wire) => val = value(msg, field, *ty, wire, &mut r, depth)?.or(Some(Value::Null)),
            (n, _) => {
                return Err(malformed(
                    msg.name,
                    format!("map entry of field {num} ({json}) has field {n}"),
                ));
            }
        }
    }
    let val = match val {
        Some(v) => v,
        None => match ty {
            Ty::Quantity => Value::String("0".into()),
            Ty::Msg(_) => Value::Object(Object::new()),
            _ => zero(*ty).unwrap_or(Value::Null),
        },
    };
    Ok((key, val))
}

/// The fields of a small special message, by number.
fn special_fields<'a>(
    name: &'static str,
    bytes: &'a [u8],
    known: &[(u64, u64)],
) -> Result<Vec<(u64, SpecialValue<'a>)>, ProtobufError> {
    let mut r = Reader {
        buf: bytes,
        msg: name,
    };
    let mut out = Vec::new();
    while !r.buf.is_empty() {
        let k = r.varint()?;
        let (num, wire) = (k >> 3, k & 7);
        let Some(&(_, want)) = known.iter().find(|(n, _)| *n == num) else {
            return Err(ProtobufError::UnknownField {
                message: name,
                field: u32::try_from(num).unwrap_or(u32::MAX),
            });
        };
        if wire != want {
            return Err(malformed(name, format!("field {num} has wire type {wire}")));
        }
        let v = if want == VARINT {
            SpecialValue::Int(r.varint()?)
        } else {
            SpecialValue::Bytes(r.len_delimited()?)
        };
        out.push((num, v));
    }
    Ok(out)
}

enum SpecialValue<'a> {
    Int(u64),
    Bytes(&'a [u8]),
}

fn time(bytes: &[u8]) -> Result<Option<Value>, ProtobufError> {
    const NAME: &str = "meta/v1.Time";
    if bytes.is_empty() {
        return Ok(None);
    }
    let mut seconds = 0i64;
    for (num, v) in special_fields(NAME, bytes, &[(1, VARINT), (2, VARINT)])? {
        if let (1, SpecialValue::Int(s)) = (num, v) {
            seconds = s as i64;
        }
    }
    // Go's JSON drops the nanoseconds
    let ts = jiff::Timestamp::from_second(seconds)
        .map_err(|_| malformed(NAME, format!("seconds {seconds} out of range")))?;
    Ok(Some(Value::String(
        ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )))
}

fn quantity(bytes: &[u8]) -> Result<Value, ProtobufError> {
    let mut s = String::from("0");
    for (_, v) in special_fields("resource.Quantity", bytes, &[(1, LEN)])? {
        if let SpecialValue::Bytes(b) = v {
            s = String::from_utf8_lossy(b).into_owned();
        }
    }
    Ok(Value::String(s))
}

fn int_or_string(bytes: &[u8]) -> Result<Value, ProtobufError> {
    const NAME: &str = "intstr.IntOrString";
    let (mut kind, mut int, mut string) = (0u64, 0i32, String::new());
    for (num, v) in special_fields(NAME, bytes, &[(1, VARINT), (2, VARINT), (3, LEN)])? {
        match (num, v) {
            (1, SpecialValue::Int(t)) => kind = t,
            (2, SpecialValue::Int(i)) => int = i as u32 as i32,
            (3, SpecialValue::Bytes(b)) => string = String::from_utf8_lossy(b).into_owned(),
            _ => {}
        }
    }
    match kind {
        0 => Ok(Value::from(int)),
        1 => Ok(Value::String(string)),
        t => Err(malformed(NAME, format!("invalid type {t}"))),
    }
}

fn fields_v1(bytes: &[u8]) -> Result<Value, ProtobufError> {
    const NAME: &str = "meta/v1.FieldsV1";
    let mut raw: &[u8] = b"null";
    for (_, v) in special_fields(NAME, bytes, &[(1, LEN)])? {
        if let SpecialValue::Bytes(b) = v {
            raw = b;
        }
    }
    serde_json::from_slice(raw).map_err(|e| malformed(NAME, format!("Raw is not JSON: {e}")))
}
