//! Autodiff: one node per call, whose backward pass runs the backend's gradient kernels
//! ([`DaeGrads`]: `flex` on the CPU, `cube` on WebGPU and Vulkan).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::tensor::FloatTensor;

use burn::backend::AutodiffBackend;

use super::{
    AdamStep, DaeGrads, DaeKernels, HeadGrads, HeadKernels, HeadLayerGrads, LayerGrads, LossGrads, LossKernels,
};

/// The backward pass of a 3×3 layer node: a convolution ([`DaeKernels::conv3x3`]) or a
/// transposed one ([`DaeKernels::up_conv3x3`]).
#[derive(Debug)]
enum LayerBackward {
    Conv,
    Up,
}

impl<B: DaeGrads> Backward<B, 3> for LayerBackward {
    /// The checkpointed input and weight.
    type State = (NodeId, NodeId);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_id, w_id) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_id);
        let w = checkpointer.retrieve_node_output::<FloatTensor<B>>(w_id);
        let grads_of = match self {
            LayerBackward::Conv => B::conv3x3_grads,
            LayerBackward::Up => B::up_conv3x3_grads,
        };
        let layer = grads_of(x, w, grad, node_x.is_some(), node_w.is_some());
        register_layer_grads::<B>(grads, [node_x, node_w, node_b].map(|n| n.map(|n| n.id)), layer);
    }
}

/// Hands a 3×3 layer's gradients to the parents that track one: input, weight, bias.
fn register_layer_grads<B: DaeGrads>(grads: &mut Gradients, parents: [Option<NodeId>; 3], layer: LayerGrads<B>) {
    let [node_x, node_w, node_b] = parents;
    let LayerGrads { x, weight, bias } = layer;
    if let (Some(node), Some(dx)) = (node_x, x) {
        grads.register::<B>(node, dx);
    }
    if let (Some(node), Some(dw)) = (node_w, weight) {
        grads.register::<B>(node, dw);
    }
    if let Some(node) = node_b {
        grads.register::<B>(node, bias);
    }
}

/// The backward pass of [`DaeKernels::conv3x3_leaky`]: the activation's gradient, then the
/// convolution's.
#[derive(Debug)]
struct ConvLeakyBackward;

impl<B: DaeGrads> Backward<B, 3> for ConvLeakyBackward {
    /// The checkpointed input and weight, the output and the slope: with a positive slope the
    /// output is positive exactly where the sum was, so it stands in for the sum.
    type State = (NodeId, NodeId, FloatTensor<B>, f32);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_id, w_id, output, slope) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_id);
        let w = checkpointer.retrieve_node_output::<FloatTensor<B>>(w_id);
        let grad = B::leaky_relu_grad(output, grad, slope);
        let layer = B::conv3x3_grads(x, w, grad, node_x.is_some(), node_w.is_some());
        register_layer_grads::<B>(grads, [node_x, node_w, node_b].map(|n| n.map(|n| n.id)), layer);
    }
}

/// The backward pass of [`DaeKernels::conv3x3_leaky_pool`]: [`DaeGrads::conv3x3_leaky_pool_grads`].
#[derive(Debug)]
struct ConvLeakyPoolBackward;

impl<B: DaeGrads> Backward<B, 3> for ConvLeakyPoolBackward {
    /// The checkpointed input and weight, the map that was pooled and the slope.
    type State = (NodeId, NodeId, FloatTensor<B>, f32);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_id, w_id, map, slope) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_id);
        let w = checkpointer.retrieve_node_output::<FloatTensor<B>>(w_id);
        let (x_grad, w_grad) = (node_x.is_some(), node_w.is_some());
        let layer = B::conv3x3_leaky_pool_grads(x, w, map, grad, slope, x_grad, w_grad);
        register_layer_grads::<B>(grads, [node_x, node_w, node_b].map(|n| n.map(|n| n.id)), layer);
    }
}

#[derive(Debug)]
struct MaxPoolBackward;

impl<B: DaeGrads> Backward<B, 1> for MaxPoolBackward {
    /// The checkpointed input: the backward pass finds each window's maximum again.
    type State = NodeId;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = node_x {
            let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(ops.state);
            grads.register::<B>(node.id, B::max_pool2x2_grad(x, grad));
        }
    }
}

#[derive(Debug)]
struct LeakyBackward;

impl<B: DaeGrads> Backward<B, 1> for LeakyBackward {
    /// The checkpointed input and the slope.
    type State = (NodeId, f32);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = node_x {
            let (x_id, slope) = ops.state;
            let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_id);
            grads.register::<B>(node.id, B::leaky_relu_grad(x, grad, slope));
        }
    }
}

/// The backward pass of [`LossKernels::bce_logits`].
#[derive(Debug)]
struct BceBackward;

impl<B: LossGrads> Backward<B, 1> for BceBackward {
    /// What [`LossGrads::bce_logits_keep`] kept, and the targets.
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_logits] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = node_logits {
            let (kept, targets) = ops.state;
            grads.register::<B>(node.id, B::bce_logits_grad(kept, targets, grad));
        }
    }
}

impl<B: LossGrads, C: CheckpointStrategy> LossKernels for Autodiff<B, C> {
    /// The targets are data: a tracked target is read, not differentiated.
    fn bce_logits(logits: FloatTensor<Self>, targets: FloatTensor<Self>) -> FloatTensor<Self> {
        let targets = targets.into_primitive();
        match BceBackward.prepare::<C>([logits.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (loss, kept) = B::bce_logits_keep(logits.into_primitive(), targets.clone());
                prep.finish((kept, targets), loss)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::bce_logits(logits.into_primitive(), targets)),
        }
    }
}

/// The backward pass of [`HeadKernels::up_conv_out`]: [`HeadGrads::up_conv_out_grads`].
#[derive(Debug)]
struct HeadBackward;

impl<B: HeadGrads> Backward<B, 5> for HeadBackward {
    /// The checkpointed input, the transposed convolution's weight and bias (its map, which
    /// `out`'s weight gradient reads, is made of them), and `out`'s weight.
    type State = [NodeId; 4];

    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let [x, up_weight, up_bias, out_weight] =
            ops.state.map(|id| checkpointer.retrieve_node_output::<FloatTensor<B>>(id));
        let [node_x, nodes @ ..] = ops.parents.map(|n| n.map(|n| n.id));
        let HeadLayerGrads { x: dx, up_weight, up_bias, out_weight, out_bias } =
            B::up_conv_out_grads(x, up_weight, up_bias, out_weight, grad, node_x.is_some());
        if let (Some(node), Some(dx)) = (node_x, dx) {
            grads.register::<B>(node, dx);
        }
        for (node, g) in nodes.into_iter().zip([up_weight, up_bias, out_weight, out_bias]) {
            if let Some(node) = node {
                grads.register::<B>(node, g);
            }
        }
    }
}

impl<B: HeadGrads, C: CheckpointStrategy> HeadKernels for Autodiff<B, C> {
    fn up_conv_out(
        x: FloatTensor<Self>,
        up_weight: FloatTensor<Self>,
        up_bias: FloatTensor<Self>,
        out_weight: FloatTensor<Self>,
        out_bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let parents = [x.node(), up_weight.node(), up_bias.node(), out_weight.node(), out_bias.node()];
        match HeadBackward.prepare::<C>(parents).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let state = [&x, &up_weight, &up_bias, &out_weight].map(|t| prep.checkpoint(t));
                let out = B::up_conv_out(
                    x.into_primitive(),
                    up_weight.into_primitive(),
                    up_bias.into_primitive(),
                    out_weight.into_primitive(),
                    out_bias.into_primitive(),
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::up_conv_out(
                x.into_primitive(),
                up_weight.into_primitive(),
                up_bias.into_primitive(),
                out_weight.into_primitive(),
                out_bias.into_primitive(),
            )),
        }
    }
}

/// One tracked node for `op` with parents x, weight, bias; its backward pass is `backward`'s.
fn layer_node<B: DaeGrads, C: CheckpointStrategy>(
    backward: LayerBackward,
    x: FloatTensor<Autodiff<B, C>>,
    weight: FloatTensor<Autodiff<B, C>>,
    bias: FloatTensor<Autodiff<B, C>>,
    op: fn(FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) -> FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>> {
    match backward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
        OpsKind::Tracked(mut prep) => {
            let state = (prep.checkpoint(&x), prep.checkpoint(&weight));
            prep.finish(state, op(x.into_primitive(), weight.into_primitive(), bias.into_primitive()))
        }
        OpsKind::UnTracked(prep) => prep.finish(op(x.into_primitive(), weight.into_primitive(), bias.into_primitive())),
    }
}

impl<B: DaeGrads, C: CheckpointStrategy> DaeKernels for Autodiff<B, C> {
    fn conv3x3(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        layer_node::<B, C>(LayerBackward::Conv, x, weight, bias, B::conv3x3)
    }

    fn conv3x3_leaky(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        slope: f32,
    ) -> FloatTensor<Self> {
        match ConvLeakyBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let (x_id, w_id) = (prep.checkpoint(&x), prep.checkpoint(&weight));
                let output =
                    B::conv3x3_leaky(x.into_primitive(), weight.into_primitive(), bias.into_primitive(), slope);
                prep.finish((x_id, w_id, output.clone(), slope), output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::conv3x3_leaky(x.into_primitive(), weight.into_primitive(), bias.into_primitive(), slope))
            }
        }
    }

    fn conv3x3_leaky_pool(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        slope: f32,
    ) -> FloatTensor<Self> {
        match ConvLeakyPoolBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let (x_id, w_id) = (prep.checkpoint(&x), prep.checkpoint(&weight));
                let (pooled, map) = B::conv3x3_leaky_pool_keep(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    slope,
                );
                prep.finish((x_id, w_id, map, slope), pooled)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv3x3_leaky_pool(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                slope,
            )),
        }
    }

    fn up_conv3x3(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        layer_node::<B, C>(LayerBackward::Up, x, weight, bias, B::up_conv3x3)
    }

    fn leaky_relu(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        match LeakyBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), slope);
                prep.finish(state, <B as DaeKernels>::leaky_relu(x.into_primitive(), slope))
            }
            OpsKind::UnTracked(prep) => prep.finish(<B as DaeKernels>::leaky_relu(x.into_primitive(), slope)),
        }
    }

    /// Not differentiated: an optimizer's update of values it owns.
    fn adam_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: AdamStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (p, m, v) = B::adam_step(
            param.into_primitive(),
            grad.into_primitive(),
            moment_1.into_primitive(),
            moment_2.into_primitive(),
            step,
        );
        (Self::from_inner(p), Self::from_inner(m), Self::from_inner(v))
    }

    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match MaxPoolBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let state = prep.checkpoint(&x);
                prep.finish(state, B::max_pool2x2(x.into_primitive()))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::max_pool2x2(x.into_primitive())),
        }
    }
}
