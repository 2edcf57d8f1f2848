//! First come, first served: the calls on one object run one at a time, in the order they were
//! made. An async mutex alone does not promise that (futures-util's is not FIFO: a call issued
//! while others wait could overtake them); here each call waits for the one made just before it.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use futures_channel::oneshot;
use futures_util::lock::Mutex;
use wasm_bindgen::JsValue;

use crate::error::DaeError;

/// The order of the calls on one object.
#[derive(Clone, Default)]
pub struct Fifo {
    /// Completes when the latest call so far has finished.
    tail: Rc<RefCell<Option<oneshot::Receiver<()>>>>,
}

impl Fifo {
    /// Runs `work` after every call queued before it has finished (whatever their outcome).
    pub fn run<F: Future>(&self, work: F) -> impl Future<Output = F::Output> + use<F> {
        let (done, finished) = oneshot::channel::<()>();
        let before = self.tail.replace(Some(finished));
        async move {
            if let Some(before) = before {
                // Err(Canceled) is the predecessor's `done` dropped: finished too.
                let _ = before.await;
            }
            let out = work.await;
            drop(done);
            out
        }
    }
}

/// A value that one JavaScript object's calls work on, one call at a time, in call order.
pub struct Serial<T> {
    value: Rc<Mutex<T>>,
    fifo: Fifo,
}

impl<T: 'static> Serial<T> {
    pub fn new(value: T) -> Self {
        Self { value: Rc::new(Mutex::new(value)), fifo: Fifo::default() }
    }

    /// A promise of `work` on the value, run after every earlier call; `args` were checked when
    /// the call was made, and a refusal among them settles in its turn too.
    pub fn call<A, F, Fut>(&self, args: Result<A, DaeError>, work: F) -> js_sys::Promise
    where
        A: 'static,
        F: FnOnce(Rc<Mutex<T>>, A) -> Fut + 'static,
        Fut: Future<Output = Result<JsValue, DaeError>> + 'static,
    {
        let value = self.value.clone();
        super::promise(self.fifo.run(async move { work(value, args?).await }))
    }
}
