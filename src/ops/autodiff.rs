//! Autodiff: one node per call, whose backward pass runs the kernels of `flex`.

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::prelude::*;

use super::DaeKernels;
use super::flex::{
    bias_grad, contiguous_f32, dims4, layer_grads, leaky_relu_backward, max_pool_backward, patch_conv_grad_x, slice,
    tensor, thin_conv_grad_w, thin_conv_grad_x, wide_conv_grad_x,
};

/// The backward pass of a 3×3 layer node: a convolution ([`DaeKernels::conv3x3`]) or a
/// transposed one ([`DaeKernels::up_conv3x3`]).
#[derive(Debug)]
enum LayerBackward {
    Conv,
    Up,
}

impl Backward<Flex, 3> for LayerBackward {
    /// The checkpointed input and weight.
    type State = (NodeId, NodeId);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = contiguous_f32(&grads.consume::<Flex>(&ops.node));
        let (x_id, w_id) = ops.state;
        let x = contiguous_f32(&checkpointer.retrieve_node_output::<FlexTensor>(x_id));
        let w = contiguous_f32(&checkpointer.retrieve_node_output::<FlexTensor>(w_id));
        let dims = dims4(&x);
        let [batch, _, s, _] = dims;
        let [w0, w1, ..] = dims4(&w);
        let (mut dx, mut dw) = (None, None);
        let c_out = match self {
            LayerBackward::Conv => {
                let (c_out, c_in) = (w0, w1);
                if node_x.is_some() {
                    let grad_x = match (c_in, c_out) {
                        (_, 1) => patch_conv_grad_x,
                        (1, _) => thin_conv_grad_x,
                        _ => wide_conv_grad_x,
                    };
                    dx = Some(tensor(grad_x(slice(&grad), slice(&w), batch, c_in, c_out, s), dims));
                }
                if node_w.is_some() {
                    dw = Some(if c_out == 1 {
                        thin_conv_grad_w(slice(&x), slice(&grad), dims, c_out)
                    } else {
                        layer_grads(slice(&grad), c_out, slice(&x), c_in, s, 1, s, batch, None).0
                    });
                }
                c_out
            }
            LayerBackward::Up => {
                let (c_in, c_out) = (w0, w1);
                if node_x.is_some() || node_w.is_some() {
                    // Both from one im2col of the output gradient (see `layer_grads`).
                    let weight = node_x.as_ref().map(|_| slice(&w));
                    let (w_grad, x_grad) =
                        layer_grads(slice(&x), c_in, slice(&grad), c_out, 2 * s, 2, s, batch, weight);
                    dx = x_grad.map(|v| tensor(v, dims));
                    dw = Some(w_grad);
                }
                c_out
            }
        };
        if let (Some(node), Some(dx)) = (node_x, dx) {
            grads.register::<Flex>(node.id, dx);
        }
        if let (Some(node), Some(dw)) = (node_w, dw) {
            grads.register::<Flex>(node.id, tensor(dw, [w0, w1, 3, 3]));
        }
        if let Some(node) = node_b {
            let [.., gh, gw] = dims4(&grad);
            let plane = gh * gw;
            let db = bias_grad(slice(&grad), batch, c_out, plane);
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(db, [c_out])));
        }
    }
}

#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    /// The checkpointed input: the backward pass finds each window's maximum again.
    type State = NodeId;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = contiguous_f32(&grads.consume::<Flex>(&ops.node));
        if let Some(node) = node_x {
            let x = contiguous_f32(&checkpointer.retrieve_node_output::<FlexTensor>(ops.state));
            let dims = dims4(&x);
            grads.register::<Flex>(node.id, tensor(max_pool_backward(slice(&x), slice(&grad), dims), dims));
        }
    }
}

#[derive(Debug)]
struct LeakyBackward;

impl Backward<Flex, 1> for LeakyBackward {
    /// The checkpointed input and the slope.
    type State = (NodeId, f32);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = contiguous_f32(&grads.consume::<Flex>(&ops.node));
        if let Some(node) = node_x {
            let (x_id, slope) = ops.state;
            let x = contiguous_f32(&checkpointer.retrieve_node_output::<FlexTensor>(x_id));
            let dx = leaky_relu_backward(slice(&x), slice(&grad), slope);
            let shape = burn::backend::TensorMetadata::shape(&x);
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dx, shape)));
        }
    }
}

/// One tracked node for `op` with parents x, weight, bias; its backward pass is `backward`'s.
fn layer_node<C: CheckpointStrategy>(
    backward: LayerBackward,
    x: FloatTensor<Autodiff<Flex, C>>,
    weight: FloatTensor<Autodiff<Flex, C>>,
    bias: FloatTensor<Autodiff<Flex, C>>,
    op: fn(FlexTensor, FlexTensor, FlexTensor) -> FlexTensor,
) -> FloatTensor<Autodiff<Flex, C>> {
    match backward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
        OpsKind::Tracked(mut prep) => {
            let state = (prep.checkpoint(&x), prep.checkpoint(&weight));
            prep.finish(state, op(x.into_primitive(), weight.into_primitive(), bias.into_primitive()))
        }
        OpsKind::UnTracked(prep) => prep.finish(op(x.into_primitive(), weight.into_primitive(), bias.into_primitive())),
    }
}

impl<C: CheckpointStrategy> DaeKernels for Autodiff<Flex, C> {
    fn conv3x3(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        layer_node::<C>(LayerBackward::Conv, x, weight, bias, <Flex as DaeKernels>::conv3x3)
    }

    fn up_conv3x3(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        layer_node::<C>(LayerBackward::Up, x, weight, bias, <Flex as DaeKernels>::up_conv3x3)
    }

    fn leaky_relu(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        match LeakyBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), slope);
                prep.finish(state, Flex::leaky_relu(x.into_primitive(), slope))
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::leaky_relu(x.into_primitive(), slope)),
        }
    }

    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match MaxPoolBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let state = prep.checkpoint(&x);
                prep.finish(state, Flex::max_pool2x2(x.into_primitive()))
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::max_pool2x2(x.into_primitive())),
        }
    }
}
