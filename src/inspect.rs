//! What the lab shows of a model: the maps of a forward pass and the parameters, read back from
//! the device with their names and shapes.

use burn::prelude::*;
use burn::tensor::Transaction;

use crate::error::DaeError;
use crate::model::Dae;

/// An array read back from the device: row-major `values` of `shape`, under `name` (a stage of
/// [`crate::model::stages`], or a parameter of [`crate::weights::expected`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// [`Dae::trace`] of `images` (`[n, 1, 28, 28]`), every stage read back in one transaction:
/// `[n, channels, side, side]` each, in stage order.
pub async fn trace(model: &Dae, images: Tensor<4>) -> Result<Vec<Named>, DaeError> {
    let maps = model.trace(images);
    let mut tx = Transaction::default();
    for (_, m) in &maps {
        tx = tx.register(m.clone());
    }
    let data = tx.execute_async().await.map_err(|e| DaeError::backend("reading the maps back failed", e))?;
    maps.into_iter()
        .zip(data)
        .map(|((stage, m), d)| {
            let values = d
                .try_into_vec::<f32>()
                .map_err(|e| DaeError::Backend(format!("{}: expected f32 data, got {e:?}", stage.name)))?;
            Ok(Named { name: stage.name.into(), shape: m.dims().to_vec(), values })
        })
        .collect()
}
