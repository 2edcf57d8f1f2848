//! Arguments from JavaScript, checked before anything is copied: typed arrays of bounded size,
//! numbers that are numbers. Nothing is coerced; a refusal names what came.

use js_sys::{ArrayBuffer, DataView, Float32Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::DaeError;
use crate::input::{MAX_IMAGES, check_len};
use crate::latent::{CODE_LEN, MAX_BLEND_STEPS};

/// Largest byte array taken (a weights file is 150 KB; the compact training set 43 MB).
pub const MAX_BYTES: usize = 256 << 20;

/// A short description of a JavaScript value for messages: `null`, `"abc"` (a string, quoted,
/// its first 40 characters), `Float64Array(784)`, `Array(784)`, `an object (Map)`…
pub fn describe(value: &JsValue) -> String {
    if value.is_null() {
        return "null".into();
    }
    if value.is_undefined() {
        return "undefined".into();
    }
    if let Some(b) = value.as_bool() {
        return b.to_string();
    }
    if let Some(n) = value.as_f64() {
        return format!("the number {n}");
    }
    if let Some(s) = value.as_string() {
        // Bounded: a message stays one short line whatever was passed.
        const SHOWN: usize = 40;
        let cut = s.char_indices().nth(SHOWN).map(|(at, _)| at);
        return match cut {
            Some(at) => format!("a string starting {:?}…", &s[..at]),
            None => format!("{s:?}"),
        };
    }
    if value.is_function() {
        return "a function".into();
    }
    if value.is_bigint() {
        return "a bigint".into();
    }
    if value.is_symbol() {
        return "a symbol".into();
    }
    if let Some(a) = value.dyn_ref::<js_sys::Array>() {
        return format!("Array({})", a.length());
    }
    // Reflect (which catches) rather than getters: a Proxy may throw from any of these.
    let name = js_sys::Reflect::get(value, &"constructor".into())
        .ok()
        .filter(|c| c.is_function())
        .and_then(|c| js_sys::Reflect::get(&c, &"name".into()).ok())
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    let length = js_sys::Reflect::get(value, &"length".into()).ok().and_then(|l| l.as_f64());
    let byte_length = js_sys::Reflect::get(value, &"byteLength".into()).ok().and_then(|l| l.as_f64());
    match (name.as_str(), length, byte_length) {
        ("" | "Object", _, _) => "an object".into(),
        (name, Some(n), _) if name.ends_with("Array") => format!("{name}({n})"),
        (name, None, Some(b)) => format!("{name} of {b} bytes"),
        (name, _, _) => format!("an object ({name})"),
    }
}

/// A Float32Array of at most `max_images` 28 × 28 images, copied.
pub fn floats(name: &str, value: &JsValue, max_images: usize) -> Result<Vec<f32>, DaeError> {
    let Some(array) = value.dyn_ref::<Float32Array>() else {
        return Err(DaeError::Input(format!(
            "{name}: expected a Float32Array of n × 784 values in [0, 1], got {}",
            describe(value)
        )));
    };
    check_len(name, array.length() as usize, max_images)?;
    Ok(array.to_vec())
}

/// A Float32Array of at most `max_codes` latent codes of `code_len` values each, copied.
fn codes(name: &str, value: &JsValue, code_len: usize, max_codes: usize) -> Result<Vec<f32>, DaeError> {
    let Some(array) = value.dyn_ref::<Float32Array>() else {
        return Err(DaeError::Input(format!(
            "{name}: expected a Float32Array of n × {code_len} values (latent codes), got {}",
            describe(value)
        )));
    };
    let len = array.length() as usize;
    if len > code_len * max_codes {
        return Err(DaeError::Input(format!(
            "{name}: expected at most {max_codes} codes ({} floats), got {len} floats",
            code_len * max_codes
        )));
    }
    Ok(array.to_vec())
}

/// The codes argument of `decode`: at most [`MAX_IMAGES`] codes of the model's
/// [`CODE_LEN`] values.
pub fn codes_arg(value: &JsValue) -> Result<Vec<f32>, DaeError> {
    codes("codes", value, CODE_LEN, MAX_IMAGES)
}

/// The arguments of `interpolate`: two images and a whole number of steps in
/// [2, [`MAX_BLEND_STEPS`]].
pub fn blend_args(from: &JsValue, to: &JsValue, steps: &JsValue) -> Result<(Vec<f32>, Vec<f32>, usize), DaeError> {
    // Two images' worth is copied at most, so that the trainer can say "one image, got two".
    let (from, to) = (floats("from", from, 2)?, floats("to", to, 2)?);
    Ok((from, to, integer("steps", steps, 2, MAX_BLEND_STEPS)?))
}

/// Bytes from a Uint8Array, an ArrayBuffer or a DataView, copied.
pub fn bytes(name: &str, value: &JsValue) -> Result<Vec<u8>, DaeError> {
    let view = if let Some(a) = value.dyn_ref::<Uint8Array>() {
        a.clone()
    } else if let Some(b) = value.dyn_ref::<ArrayBuffer>() {
        Uint8Array::new(b)
    } else if let Some(d) = value.dyn_ref::<DataView>() {
        Uint8Array::new_with_byte_offset_and_length(&d.buffer(), d.byte_offset() as u32, d.byte_length() as u32)
    } else {
        return Err(DaeError::Input(format!(
            "{name}: expected bytes (a Uint8Array, ArrayBuffer or DataView), got {}",
            describe(value)
        )));
    };
    let len = view.length() as usize;
    if len > MAX_BYTES {
        return Err(DaeError::Input(format!("{name}: expected at most {MAX_BYTES} bytes, got {len}")));
    }
    Ok(view.to_vec())
}

/// A JavaScript number (not a string, boolean or object that would convert to one).
pub fn number(name: &str, value: &JsValue) -> Result<f64, DaeError> {
    value.as_f64().ok_or_else(|| DaeError::Input(format!("{name}: expected a number, got {}", describe(value))))
}

/// An integer from `lo` to `hi`, both included.
pub fn integer(name: &str, value: &JsValue, lo: usize, hi: usize) -> Result<usize, DaeError> {
    let n = number(name, value)?;
    if n.fract() == 0.0 && (lo as f64..=hi as f64).contains(&n) {
        Ok(n as usize)
    } else {
        Err(DaeError::Input(format!("{name}: expected an integer from {lo} to {hi}, got {n}")))
    }
}

/// A non-negative integer below `limit` (an index into something `limit` long).
pub fn index(name: &str, value: &JsValue, limit: usize) -> Result<usize, DaeError> {
    match limit {
        0 => {
            Err(DaeError::Input(format!("{name}: expected an index into nothing (length 0), got {}", describe(value))))
        }
        _ => integer(name, value, 0, limit - 1),
    }
}

/// A list of image indices below `limit`: an Array of integers or a Uint32Array, at most 4,096.
pub fn indices(name: &str, value: &JsValue, limit: usize) -> Result<Vec<usize>, DaeError> {
    let items: Vec<JsValue> = if let Some(a) = value.dyn_ref::<js_sys::Array>() {
        a.iter().collect()
    } else if let Some(a) = value.dyn_ref::<js_sys::Uint32Array>() {
        a.to_vec().into_iter().map(|i| JsValue::from_f64(i as f64)).collect()
    } else {
        return Err(DaeError::Input(format!(
            "{name}: expected an Array or Uint32Array of indices, got {}",
            describe(value)
        )));
    };
    if items.is_empty() || items.len() > 4096 {
        return Err(DaeError::Input(format!("{name}: expected 1 to 4096 indices, got {}", items.len())));
    }
    items.iter().map(|v| index(name, v, limit)).collect()
}
