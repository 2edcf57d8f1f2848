//! Options objects in and plain result objects out, through serde-wasm-bindgen: unknown keys,
//! wrong types and out-of-range values are refused with the key's name.

use js_sys::{Object, Reflect};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

use crate::backend::{BackendChoice, Placement};
use crate::error::DaeError;
use crate::input::{check_learning_rate, check_seed};
use crate::inspect::Named;
use crate::model::Activation;
use crate::session::SessionConfig;
use crate::train::TrainerConfig;

use super::input::describe;

#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const TS_OPTIONS: &'static str = r#"
/** Options of `Denoiser.create`; every field is optional. */
export interface DenoiserOptions {
  /** "auto" (default): WebGPU on a hardware adapter, else the CPU (a software adapter such as
   *  SwiftShader trains far slower than the CPU backend). "webgpu": WebGPU on any adapter, or a
   *  rejected promise. "cpu": burn's flex backend in wasm. */
  backend?: "auto" | "webgpu" | "cpu";
  /** Seed of the initial weights (integer, 0 ≤ seed < 2^53); default 0. */
  seed?: number;
  /** Adam step size in (0, 1]; default 1e-3 (the tutorial's). */
  learning_rate?: number;
  /** Hidden activation; default "leaky_relu" (the tutorial's, slope 0.1). */
  activation?: "leaky_relu" | "relu";
}

/** Options of `Session.create`: a Denoiser's, and the run's. */
export interface SessionOptions extends DenoiserOptions {
  /** Passes over the training images; default 25 (the tutorial's). */
  epochs?: number;
  /** Images per step, 1 to 256; default 64. */
  batch_size?: number;
  /** Standard deviation of the training noise, 0 to 10; default 0.5. */
  noise_factor?: number;
  /** New noise for every batch (default true here); false gives each image one fixed noise. */
  fresh_noise?: boolean;
  /** Standard deviation of the validation noise, fixed for the session; default 0.5. */
  val_noise_factor?: number;
  /** Validation images, the first of the test set; default 500 (the trainer's figure uses
   *  10,000: the same images with the same noise, so these are a subset of it). */
  val_images?: number;
  /** Training images, the first of the training set; default all of them. */
  train_images?: number;
}

/** Settings `Session.configure` changes from the next step on; each is optional. */
export interface SessionSettings {
  epochs?: number;
  batch_size?: number;
  noise_factor?: number;
  learning_rate?: number;
}
"#;

/// A plain copy of an options object ([`deep_copy`]), which must be a plain object.
fn snapshot(name: &str, value: &JsValue) -> Result<Option<JsValue>, DaeError> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let refused = || DaeError::Input(format!("{name}: expected a plain object, got {}", describe(value)));
    if !value.is_object() || value.is_function() || js_sys::Array::is_array(value) {
        return Err(refused());
    }
    let proto = Reflect::get_prototype_of(value).map_err(|_| refused())?;
    let plain = Reflect::get_prototype_of(&Object::new()).map_err(|_| refused())?;
    if !(proto.is_null() || proto == plain) {
        return Err(refused());
    }
    deep_copy(value).map(Some).map_err(|why| DaeError::Input(format!("{name}: {why}")))
}

/// "expected a readable object, got one that threw: …", with the first line of what was thrown.
fn threw(e: &JsValue) -> String {
    let why = e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_else(|| describe(e));
    format!("expected a readable object, got one that threw: {}", why.lines().next().unwrap_or_default())
}

/// Objects and Arrays nested deeper than this in a saved training are refused: what
/// `Session.state()` gives is three levels deep, and a cycle must end somewhere.
const MAX_DEPTH: usize = 16;

/// A copy of `value`, its objects and Arrays copied at every depth (own string keys, each read
/// once; a key whose value is `undefined` left out, as if absent), for an options object or a
/// saved training: reading the copy runs none of the caller's code, so a getter or Proxy that
/// throws, at any depth, is refused here with what it threw instead of escaping into wasm from
/// the deserialiser. Numbers stay as they are (JSON would turn a NaN into null); a Proxy that
/// reads as plain data (a framework's reactive state) is copied as that data.
pub fn deep_copy(value: &JsValue) -> Result<JsValue, String> {
    fn copy(value: &JsValue, depth: usize) -> Result<JsValue, String> {
        if !value.is_object() || value.is_function() {
            return Ok(value.clone());
        }
        if depth == MAX_DEPTH {
            return Err(format!("expected data nested at most {MAX_DEPTH} levels deep, got deeper (or a cycle)"));
        }
        let read = |key: &JsValue| Reflect::get(value, key).map_err(|e| threw(&e)).and_then(|v| copy(&v, depth + 1));
        if js_sys::Array::is_array(value) {
            let length = Reflect::get(value, &JsValue::from_str("length")).map_err(|e| threw(&e))?;
            let length = length.as_f64().unwrap_or(0.0) as u32;
            return (0..length).map(|i| read(&JsValue::from(i))).collect::<Result<js_sys::Array, _>>().map(Into::into);
        }
        let out = Object::new();
        for key in Reflect::own_keys(value).map_err(|e| threw(&e))?.iter().filter(JsValue::is_string) {
            let v = read(&key)?;
            if !v.is_undefined() {
                Reflect::set(&out, &key, &v).map_err(|e| threw(&e))?;
            }
        }
        Ok(out.into())
    }
    copy(value, 0)
}

/// The field names of a struct that derives `Deserialize`, as serde hands them to a deserializer.
/// serde-wasm-bindgen reads only those keys of an object, so `deny_unknown_fields` never sees
/// the others; [`parse`] checks them against this list instead.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Grab(&'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for &mut Grab {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(serde::de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut grab = Grab(&[]);
    let _ = T::deserialize(&mut grab);
    grab.0
}

/// Deserialises `T` from an options object, naming the key at fault; keys `T` does not have are
/// refused.
pub fn parse<T: DeserializeOwned + Default>(name: &str, value: &JsValue) -> Result<T, DaeError> {
    let Some(plain) = snapshot(name, value)? else { return Ok(T::default()) };
    let known = field_names::<T>();
    let keys = js_sys::Object::keys(plain.unchecked_ref::<Object>());
    if let Some(unknown) = keys.iter().filter_map(|k| k.as_string()).find(|k| !known.contains(&k.as_str())) {
        let list = known.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ");
        return Err(DaeError::Input(format!("{name}: unknown field {unknown:?}, expected one of {list}")));
    }
    from_object(&plain).map_err(|(at, why)| DaeError::Input(format!("{name}{at}: {why}")))
}

/// Deserialises `T` from a JavaScript object; on failure, where (`""` or `".key.sub"`) and why,
/// as "expected …, got …" with the value found there described ([`describe`]).
pub fn from_object<T: DeserializeOwned>(object: &JsValue) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(serde_wasm_bindgen::Deserializer::from(object.clone())).map_err(|e| {
        let mut found = Some(object.clone());
        let mut at = String::new();
        for segment in e.path().iter() {
            use serde_path_to_error::Segment;
            let (key, shown) = match segment {
                Segment::Map { key } => (JsValue::from_str(key), format!(".{key}")),
                Segment::Seq { index } => (JsValue::from_f64(*index as f64), format!("[{index}]")),
                Segment::Enum { .. } | Segment::Unknown => continue,
            };
            at.push_str(&shown);
            found = found.and_then(|v| Reflect::get(&v, &key).ok());
        }
        // serde-wasm-bindgen's errors print as JavaScript Errors do: "Error: …".
        let why = e.inner().to_string();
        let why = why.strip_prefix("Error: ").unwrap_or(&why);
        (at, readable(why, found.as_ref()))
    })
}

/// serde's messages ("invalid type: string \"1\", expected f64", "unknown variant `gpu`, expected
/// one of `auto`, …", "missing field `config`", from serde's `de::Error` defaults) in this crate's
/// form, "expected …, got …", with `found`, the value at fault, described as everywhere else.
fn readable(why: &str, found: Option<&JsValue>) -> String {
    let got = || found.map(describe).unwrap_or_else(|| "nothing".into());
    let quoted = |list: &str| list.replace('`', "\"");
    if let Some(field) = why.strip_prefix("missing field `").and_then(|f| f.strip_suffix('`')) {
        return format!("expected a field {field:?}, got {} without it", got());
    }
    // serde-wasm-bindgen reading a list or an object from a value that is neither: the engine's
    // TypeError, not one of serde's forms.
    if why.starts_with("TypeError") {
        return format!("expected an object or an Array, got {}", got());
    }
    for form in ["invalid type: ", "invalid value: ", "invalid length ", "unknown variant "] {
        if let Some((_, expected)) = why.strip_prefix(form).and_then(|rest| rest.rsplit_once(", expected ")) {
            let expected = match expected {
                "f32" | "f64" => "a number",
                "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number ≥ 0",
                "i8" | "i16" | "i32" | "i64" => "a whole number",
                "a boolean" => "true or false",
                "a sequence" => "an Array",
                other if other.starts_with("struct ") => "an object",
                other => other,
            };
            return format!("expected {}, got {}", quoted(expected), got());
        }
    }
    // Anything else as serde wrote it, on one line.
    why.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `backend` as given to `resolve_backend` (undefined: "auto").
pub fn backend_choice(value: &JsValue) -> Result<BackendChoice, DaeError> {
    if value.is_undefined() {
        return Ok(BackendChoice::Auto);
    }
    match value.as_string() {
        Some(name) => BackendChoice::parse(&name),
        None => {
            Err(DaeError::Input(format!("backend: expected \"auto\", \"webgpu\" or \"cpu\", got {}", describe(value))))
        }
    }
}

/// `DenoiserOptions`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelOptions {
    #[serde(default)]
    pub backend: BackendChoice,
    pub seed: Option<f64>,
    pub learning_rate: Option<f64>,
    pub activation: Option<String>,
}

impl ModelOptions {
    pub fn trainer(&self) -> Result<TrainerConfig, DaeError> {
        let mut config = TrainerConfig::tutorial(self.activation()?);
        if let Some(seed) = self.seed {
            config.seed = check_seed(seed)?;
        }
        if let Some(lr) = self.learning_rate {
            config.learning_rate = check_learning_rate("options.learning_rate", lr)?;
        }
        Ok(config)
    }

    fn activation(&self) -> Result<Activation, DaeError> {
        match &self.activation {
            None => Ok(Activation::LeakyRelu),
            Some(name) => Activation::parse(name).ok_or_else(|| {
                DaeError::Input(format!("options.activation: expected \"leaky_relu\" or \"relu\", got {name:?}"))
            }),
        }
    }
}

/// `SessionOptions`: `DenoiserOptions`' fields listed again, since serde cannot combine
/// `flatten` with `deny_unknown_fields`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionOptions {
    #[serde(default)]
    pub backend: BackendChoice,
    pub seed: Option<f64>,
    pub learning_rate: Option<f64>,
    pub activation: Option<String>,
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub noise_factor: Option<f32>,
    pub fresh_noise: Option<bool>,
    pub val_noise_factor: Option<f32>,
    pub val_images: Option<usize>,
    pub train_images: Option<usize>,
}

/// Validation images of a browser session unless asked otherwise: 500 keeps a validation under
/// a second on the CPU backend here (`docs/benchmarks.md`).
pub const DEFAULT_VAL_IMAGES: usize = 500;

impl SessionOptions {
    /// The `DenoiserOptions` part.
    pub fn model(&self) -> ModelOptions {
        ModelOptions {
            backend: self.backend,
            seed: self.seed,
            learning_rate: self.learning_rate,
            activation: self.activation.clone(),
        }
    }

    /// The session's config for a training set of `train_len` and a test set of `test_len`
    /// images.
    pub fn config(&self, train_len: usize, test_len: usize) -> Result<SessionConfig, DaeError> {
        let trainer = self.model().trainer()?;
        let c = SessionConfig::new()
            .with_activation(trainer.model.activation)
            .with_seed(trainer.seed)
            .with_learning_rate(trainer.learning_rate)
            .with_fresh_noise(self.fresh_noise.unwrap_or(true))
            .with_train_images(self.train_images.unwrap_or(train_len))
            .with_val_images(self.val_images.unwrap_or(DEFAULT_VAL_IMAGES.min(test_len)));
        let c = if let Some(v) = self.epochs { c.with_epochs(v) } else { c };
        let c = if let Some(v) = self.batch_size { c.with_batch_size(v) } else { c };
        let c = if let Some(v) = self.noise_factor { c.with_noise_factor(v) } else { c };
        let c = if let Some(v) = self.val_noise_factor { c.with_val_noise_factor(v) } else { c };
        c.validate()?;
        Ok(c)
    }
}

/// `SessionSettings`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub noise_factor: Option<f32>,
    pub learning_rate: Option<f64>,
}

/// A Float32Array copy of `values`.
pub fn f32s(values: &[f32]) -> JsValue {
    js_sys::Float32Array::from(values).into()
}

/// A plain object of `fields`.
pub fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        // Data properties on a fresh plain object: cannot fail.
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

/// `{x, y, explained}` (`LatentMap`), with the images' `labels` when there are some.
pub fn latent_map_object(map: &crate::latent::LatentMap, labels: Option<&[u8]>) -> JsValue {
    let explained: js_sys::Array = map.explained.iter().map(|&v| JsValue::from_f64(v)).collect();
    let mut fields = vec![("x", f32s(&map.x)), ("y", f32s(&map.y)), ("explained", explained.into())];
    if let Some(labels) = labels {
        fields.push(("labels", js_sys::Uint8Array::from(labels).into()));
    }
    object(&fields)
}

/// `[{name, shape, values}]` (`NamedArray[]`): the maps of a trace or the parameters.
pub fn named_arrays(arrays: &[Named]) -> JsValue {
    arrays
        .iter()
        .map(|a| {
            let shape: js_sys::Array = a.shape.iter().map(|&d| JsValue::from_f64(d as f64)).collect();
            object(&[("name", JsValue::from_str(&a.name)), ("shape", shape.into()), ("values", f32s(&a.values))])
        })
        .collect::<js_sys::Array>()
        .into()
}

/// A serde value as a plain JavaScript object (maps as objects, u64 as numbers).
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, DaeError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| DaeError::Backend(format!("building a result object failed: {e}")))
}

#[derive(Serialize)]
struct PlacementObject<'a> {
    backend: &'a str,
    note: &'a str,
    software: bool,
}

/// `{backend, note, software}`.
pub fn placement_object(p: &Placement) -> JsValue {
    to_js(&PlacementObject { backend: p.name(), note: p.note(), software: p.software() }).unwrap_or(JsValue::NULL)
}

/// A [`Fallback`](super::fallback::Fallback) as a plain object, or null.
pub fn fallback_object(f: Option<&super::fallback::Fallback>) -> JsValue {
    f.and_then(|f| to_js(f).ok()).unwrap_or(JsValue::NULL)
}
