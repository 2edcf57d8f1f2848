//! Surviving a failed GPU. A model on WebGPU keeps a host copy of itself at most [`COPY_EVERY`]
//! steps old. When the device fails under a call (a failed call with a backend error, or an
//! uncaptured error the browser reported, such as a shader that failed validation), the device is
//! dropped for good, the model goes on on the CPU from the copy, and the call runs again there.
//! The object's `backend`, `backend_note` and `fallback` say what happened.

use std::cell::RefCell;
use std::rc::Rc;

use burn::prelude::Device;
use serde::Serialize;

use super::gpu::{self, Target};
use crate::backend::Placement;
use crate::error::DaeError;

/// Steps between host copies on WebGPU: at most this many steps are lost with the device. A copy
/// reads back the 37,601 weights (147 KiB), once every this many steps (README, "Reliability").
pub const COPY_EVERY: u64 = 5;

/// A model that can keep a host copy of itself and continue from one on another device.
pub(crate) trait Movable {
    /// What a copy holds.
    type Copy;
    /// Optimiser steps taken.
    fn steps(&self) -> u64;
    /// A copy on the host (reads the weights back).
    async fn copy(&self) -> Result<Self::Copy, DaeError>;
    /// Goes back to `copy`, on `device`; on error nothing changes.
    fn restore(&mut self, copy: Self::Copy, device: &Device) -> Result<(), DaeError>;
}

/// How a model left WebGPU: the JavaScript `fallback` property.
#[derive(Debug, Clone, Serialize)]
pub struct Fallback {
    /// What the device said, or the call that failed on it.
    pub reason: String,
    /// Steps taken when the device failed (the failed step not counted).
    pub failed_at: u64,
    /// The step of the host copy the model went on from.
    pub resumed_at: u64,
    /// `failed_at − resumed_at`.
    pub steps_lost: u64,
}

/// Where a model runs, as the JavaScript object's getters read it between calls.
pub struct Where {
    pub placement: Placement,
    pub fallback: Option<Fallback>,
}

/// What an attempt came to.
pub enum Outcome<R> {
    Done(R),
    /// The device failed; the model is on the CPU now, back at its copy.
    FellBack(Fallback),
}

/// A model with its device, its host copy and the shared [`Where`].
pub struct Guarded<T: Movable> {
    value: T,
    target: Target,
    copy: Option<(u64, T::Copy)>,
    pub at: Rc<RefCell<Where>>,
}

impl<T: Movable> Guarded<T> {
    /// `value` on `target`, placed as `placement`; on WebGPU its first copy is taken at once, or
    /// `copy` is it (a resumed model's state and weights).
    pub async fn new(value: T, target: Target, placement: Placement, copy: Option<T::Copy>) -> Result<Self, DaeError> {
        let at = Rc::new(RefCell::new(Where { placement, fallback: None }));
        let mut g = Self { copy: copy.map(|c| (value.steps(), c)), value, target, at };
        g.keep_copy(false).await?;
        Ok(g)
    }

    /// The model, for what reads only host state.
    pub fn get(&self) -> &T {
        &self.value
    }

    /// The model, for what changes only host state (settings).
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// Runs `op` on the model, then keeps a host copy when one is due (or when `recopy`: the
    /// weights were replaced). When the device failed under it, falls back and says so, without
    /// running `op` again.
    pub async fn attempt<R>(
        &mut self,
        recopy: bool,
        mut op: impl AsyncFnMut(&mut T) -> Result<R, DaeError>,
    ) -> Result<Outcome<R>, DaeError> {
        let result = match op(&mut self.value).await {
            Ok(r) => self.keep_copy(recopy).await.map(|()| r),
            Err(e) => Err(e),
        };
        let Target::WebGpu(gpu) = &self.target else { return result.map(Outcome::Done) };
        let reason = match (&result, gpu.fault()) {
            (_, Some(fault)) => fault,
            (Err(DaeError::Backend(message)), None) => message.clone(),
            _ => return result.map(Outcome::Done),
        };
        self.fall_back(reason).map(Outcome::FellBack)
    }

    /// [`Self::attempt`], and after a fallback `op` again on the CPU.
    pub async fn run<R>(
        &mut self,
        recopy: bool,
        mut op: impl AsyncFnMut(&mut T) -> Result<R, DaeError>,
    ) -> Result<R, DaeError> {
        match self.attempt(recopy, &mut op).await? {
            Outcome::Done(r) => Ok(r),
            Outcome::FellBack(_) => match self.attempt(recopy, op).await? {
                Outcome::Done(r) => Ok(r),
                // On the CPU nothing falls back.
                Outcome::FellBack(f) => Err(DaeError::Backend(f.reason)),
            },
        }
    }

    async fn keep_copy(&mut self, now: bool) -> Result<(), DaeError> {
        if !matches!(self.target, Target::WebGpu(_)) {
            return Ok(());
        }
        let steps = self.value.steps();
        let due = match &self.copy {
            None => true,
            Some((at, _)) => now || steps < *at || steps - at >= COPY_EVERY,
        };
        if due {
            self.copy = Some((steps, self.value.copy().await?));
        }
        Ok(())
    }

    fn fall_back(&mut self, reason: String) -> Result<Fallback, DaeError> {
        if let Target::WebGpu(gpu) = &self.target {
            gpu::forget(gpu);
        }
        let failed_at = self.value.steps();
        let Some((resumed_at, copy)) = self.copy.take() else {
            return Err(DaeError::Backend(format!("WebGPU failed before a host copy was kept: {reason}")));
        };
        self.value.restore(copy, &crate::cpu_device())?;
        self.target = Target::Cpu;
        let fallback = Fallback { reason, failed_at, resumed_at, steps_lost: failed_at.saturating_sub(resumed_at) };
        let mut at = self.at.borrow_mut();
        at.placement = Placement::fell_back(&fallback.reason, failed_at, resumed_at);
        at.fallback = Some(fallback.clone());
        Ok(fallback)
    }
}
