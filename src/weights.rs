//! Weights as safetensors, f32, PyTorch names and layouts:
//!
//! | name          | shape           | layout                  |
//! |---------------|-----------------|-------------------------|
//! | `enc1.weight` | `[32, 1, 3, 3]` | out, in, kH, kW         |
//! | `enc2.weight` | `[32, 32, 3, 3]`| out, in, kH, kW         |
//! | `dec1.weight` | `[32, 32, 3, 3]`| out, in, kH, kW         |
//! | `up1.weight`  | `[32, 32, 3, 3]`| in, out, kH, kW (transposed conv) |
//! | `up2.weight`  | `[32, 32, 3, 3]`| in, out, kH, kW (transposed conv) |
//! | `out.weight`  | `[1, 32, 3, 3]` | out, in, kH, kW         |
//! | `*.bias`      | `[out]`         |                         |
//!
//! burn's `Conv2d` and `ConvTranspose2d` store their weights in exactly these layouts, so no
//! transposition happens on the way in or out.

use std::collections::HashMap;

use burn::module::{Param, ParamId};
use burn::prelude::*;
use burn::tensor::Transaction;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::error::DaeError;
use crate::inspect::Named;
use crate::model::{Activation, Dae};

/// Metadata key naming the activation the weights were trained with.
pub const ACTIVATION_KEY: &str = "activation";

/// Every tensor of the model, in file order (each layer's weight, then its bias), with its shape
/// for a model of `channels` maps.
pub fn expected(channels: usize) -> Vec<(String, Vec<usize>)> {
    crate::model::layers(channels)
        .iter()
        .flat_map(|l| {
            [(format!("{}.weight", l.name), l.weight_shape().to_vec()), (format!("{}.bias", l.name), vec![l.c_out])]
        })
        .collect()
}

/// The model's tensors in [`expected`] order.
fn tensors(model: &Dae) -> (Vec<Tensor<4>>, Vec<Tensor<1>>) {
    let bias = |b: &Option<Param<Tensor<1>>>| b.as_ref().expect("every layer has a bias").val();
    let weights = vec![
        model.enc1.weight.val(),
        model.enc2.weight.val(),
        model.dec1.weight.val(),
        model.up1.weight.val(),
        model.up2.weight.val(),
        model.out.weight.val(),
    ];
    let biases = vec![
        bias(&model.enc1.bias),
        bias(&model.enc2.bias),
        bias(&model.dec1.bias),
        bias(&model.up1.bias),
        bias(&model.up2.bias),
        bias(&model.out.bias),
    ];
    (weights, biases)
}

/// Every parameter, read back in one asynchronous transaction (WebGPU in a browser cannot read
/// synchronously), named and shaped as in [`expected`] and in that order.
pub async fn read(model: &Dae) -> Result<Vec<Named>, DaeError> {
    let (weights, biases) = tensors(model);
    let mut tx = Transaction::default();
    for (w, b) in weights.into_iter().zip(biases) {
        tx = tx.register(w).register(b);
    }
    let data = tx.execute_async().await.map_err(|e| DaeError::backend("reading the weights back failed", e))?;
    let channels = model.enc1.weight.dims()[0];
    expected(channels)
        .into_iter()
        .zip(data)
        .map(|((name, shape), d)| {
            let values = d
                .try_into_vec::<f32>()
                .map_err(|e| DaeError::Backend(format!("{name}: expected f32 data, got {e:?}")))?;
            Ok(Named { name, shape, values })
        })
        .collect()
}

/// The parameters as safetensors bytes, read back with [`read`].
pub async fn save(model: &Dae) -> Result<Vec<u8>, DaeError> {
    let params = read(model).await?;
    let blobs: Vec<Vec<u8>> = params.iter().map(|p| p.values.iter().flat_map(|v| v.to_le_bytes()).collect()).collect();
    let views = params
        .iter()
        .zip(&blobs)
        .map(|(p, bytes)| {
            TensorView::new(Dtype::F32, p.shape.clone(), bytes)
                .map(|v| (p.name.as_str(), v))
                .map_err(|e| DaeError::Backend(format!("{}: {e}", p.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // One key only: safetensors writes its metadata map in HashMap order, and with several keys
    // two saves of the same weights would differ in their header bytes.
    let metadata = HashMap::from([(ACTIVATION_KEY.to_string(), model.activation().name().to_string())]);
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| DaeError::Backend(format!("serialising safetensors failed: {e}")))
}

/// Weights parsed and checked, not yet on a device.
#[derive(Debug, Clone)]
pub struct Checked {
    /// `(values, shape)` in [`expected`] order.
    pub tensors: Vec<(Vec<f32>, Vec<usize>)>,
    /// The activation named in the file's metadata, if any.
    pub activation: Option<Activation>,
}

/// Parses `bytes` and validates every name, dtype, shape and value against a model of
/// `channels` maps, before anything touches a model.
pub fn check(bytes: &[u8], channels: usize) -> Result<Checked, DaeError> {
    let bad = |m: String| DaeError::Weights(m);
    if bytes.len() < 8 {
        return Err(bad(format!(
            "expected a safetensors file (8-byte header length, JSON header, data), got {} bytes",
            bytes.len()
        )));
    }
    let file = SafeTensors::deserialize(bytes).map_err(|e| {
        bad(format!(
            "expected a safetensors file (8-byte header length, JSON header, data), got {} bytes that do not \
             parse as one: {e}",
            bytes.len()
        ))
    })?;
    let (header_len, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("expected a safetensors header, got {e}")))?;
    if let Some(name) = duplicate_key(&bytes[8..8 + header_len]) {
        return Err(bad(format!("expected each tensor named once in the header, got '{name}' twice")));
    }
    let activation = match meta.metadata().as_ref().and_then(|m| m.get(ACTIVATION_KEY)) {
        None => None,
        Some(name) => Some(Activation::parse(name).ok_or_else(|| {
            bad(format!("metadata '{ACTIVATION_KEY}': expected \"leaky_relu\" or \"relu\", got {name:?}"))
        })?),
    };
    let wanted = expected(channels);
    let mut names: Vec<&str> = file.names();
    names.sort_unstable();
    let unexpected: Vec<&str> =
        names.iter().copied().filter(|n| !wanted.iter().any(|(w, _)| w.as_str() == *n)).collect();
    if !unexpected.is_empty() {
        return Err(bad(format!(
            "expected only the tensors {:?}, got unexpected {:?}",
            wanted.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            unexpected
        )));
    }
    let mut tensors = Vec::with_capacity(wanted.len());
    for (name, shape) in &wanted {
        let view = file
            .tensor(name)
            .map_err(|_| bad(format!("expected a tensor named '{name}' of shape {shape:?}, got none")))?;
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!("{name}: expected dtype F32, got {:?}", view.dtype())));
        }
        if view.shape() != shape.as_slice() {
            return Err(bad(format!("{name}: expected shape {shape:?}, got {:?}", view.shape())));
        }
        let values: Vec<f32> =
            view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("{name}: expected finite values, got {} at index {i}", values[i])));
        }
        tensors.push((values, shape.clone()));
    }
    Ok(Checked { tensors, activation })
}

/// The first key the JSON object `header` names twice, if any. safetensors (through serde_json)
/// keeps the last of two entries with one name; a file that says two things about a tensor is
/// refused instead.
fn duplicate_key(header: &[u8]) -> Option<String> {
    struct Keys(Option<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                    let mut seen = std::collections::HashSet::new();
                    let mut twice = None;
                    while let Some(key) = map.next_key::<String>()? {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        if !seen.insert(key.clone()) && twice.is_none() {
                            twice = Some(key);
                        }
                    }
                    Ok(Keys(twice))
                }
            }
            d.deserialize_map(Visit)
        }
    }
    serde_json::from_slice::<Keys>(header).ok().and_then(|k| k.0)
}

/// Ids of the model's parameters, in [`expected`] order.
pub fn param_ids(model: &Dae) -> Vec<u64> {
    let bias = |b: &Option<Param<Tensor<1>>>| b.as_ref().expect("every layer has a bias").id.val();
    vec![
        model.enc1.weight.id.val(),
        bias(&model.enc1.bias),
        model.enc2.weight.id.val(),
        bias(&model.enc2.bias),
        model.dec1.weight.id.val(),
        bias(&model.dec1.bias),
        model.up1.weight.id.val(),
        bias(&model.up1.bias),
        model.up2.weight.id.val(),
        bias(&model.up2.bias),
        model.out.weight.id.val(),
        bias(&model.out.bias),
    ]
}

/// `model` with its parameters renamed to `ids` (in [`expected`] order), so that optimiser state
/// saved under those ids applies to it again.
pub fn with_param_ids(mut model: Dae, ids: &[u64]) -> Dae {
    assert_eq!(ids.len(), 12, "one id per tensor");
    let mut it = ids.iter().map(|&id| ParamId::from(id));
    let mut rename = |w: &mut Param<Tensor<4>>, b: &mut Option<Param<Tensor<1>>>| {
        w.id = it.next().expect("12 ids");
        b.as_mut().expect("every layer has a bias").id = it.next().expect("12 ids");
    };
    rename(&mut model.enc1.weight, &mut model.enc1.bias);
    rename(&mut model.enc2.weight, &mut model.enc2.bias);
    rename(&mut model.dec1.weight, &mut model.dec1.bias);
    rename(&mut model.up1.weight, &mut model.up1.bias);
    rename(&mut model.up2.weight, &mut model.up2.bias);
    rename(&mut model.out.weight, &mut model.out.bias);
    model
}

/// A copy of `model` carrying the checked weights, as fresh trainable parameters on `device`.
pub fn apply(model: &Dae, checked: Checked, device: &Device) -> Dae {
    let mut model = model.clone();
    if let Some(activation) = checked.activation {
        model.set_activation(activation);
    }
    let mut it = checked.tensors.into_iter();
    let mut next4 = || {
        let (v, s) = it.next().expect("checked: 12 tensors");
        let w = Param::from_tensor(Tensor::<4>::from_data(TensorData::new(v, [s[0], s[1], s[2], s[3]]), device));
        let (v, s) = it.next().expect("checked: 12 tensors");
        let b = Param::from_tensor(Tensor::<1>::from_data(TensorData::new(v, [s[0]]), device));
        (w, Some(b))
    };
    (model.enc1.weight, model.enc1.bias) = next4();
    (model.enc2.weight, model.enc2.bias) = next4();
    (model.dec1.weight, model.dec1.bias) = next4();
    (model.up1.weight, model.up1.bias) = next4();
    (model.up2.weight, model.up2.bias) = next4();
    (model.out.weight, model.out.bias) = next4();
    model
}
