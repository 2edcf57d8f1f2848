//! The architecture diagram of the tutorial page (`www/figures/architecture.svg`), drawn from
//! the model's own tables — [`layers`] for the operations and their parameters, [`stages`] for
//! the maps between them — so that it cannot drift from the code.

use std::fmt::Write;

use mnist_dae::SIDE;
use mnist_dae::model::{LayerKind, layers, stages};

/// Hidden maps, as the tutorial's model has them.
const CHANNELS: usize = 32;
/// Pixels per map pixel of the drawing: a 28 × 28 map is 112 px tall.
const SCALE: usize = 4;
const GAP: usize = 52;
const TOP: usize = 40;
/// Room on each side for the first and last boxes' labels.
const SIDE_MARGIN: usize = 40;

struct Block {
    /// What made this map: `"conv 3 × 3"`, …
    op: String,
    /// `enc1`, `pool1`, …
    name: &'static str,
    channels: usize,
    side: usize,
    params: usize,
}

/// `37601` as `"37,601"`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn blocks() -> Vec<Block> {
    let layers = layers(CHANNELS);
    let mut out = vec![Block { op: "input".into(), name: "image", channels: 1, side: SIDE, params: 0 }];
    for stage in stages(CHANNELS) {
        // The output stage is the `out` layer's map.
        let layer = layers.iter().find(|l| l.name == stage.name || (stage.name == "output" && l.name == "out"));
        let (op, params) = match layer {
            Some(l) => {
                let params = l.weight_shape().iter().product::<usize>() + l.c_out;
                let op = match l.kind {
                    LayerKind::Conv => "conv 3 × 3",
                    LayerKind::ConvTranspose => "transposed conv 3 × 3, stride 2",
                };
                (op.to_string(), params)
            }
            None => ("max-pool 2 × 2".to_string(), 0),
        };
        out.push(Block { op, name: stage.name, channels: stage.channels, side: stage.side, params });
    }
    out
}

/// The diagram: one box per map, its height the map's side, its depth its channels, each
/// labelled with the operation that made it, its shape and its parameters.
pub fn svg() -> String {
    let blocks = blocks();
    let width_of = |b: &Block| if b.channels > 1 { 44 } else { 14 };
    let total: usize = blocks.iter().map(|b| width_of(b) + GAP).sum::<usize>() - GAP + 2 * SIDE_MARGIN;
    let height = TOP + SIDE * SCALE + 96;
    let params = thousands(blocks.iter().map(|b| b.params).sum());
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {total} {height}\" width=\"{total}\" height=\"{height}\" \
         role=\"img\" aria-labelledby=\"arch-title arch-desc\" font-family=\"system-ui, sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(s, "<title id=\"arch-title\">The denoising autoencoder, layer by layer</title>");
    let desc: Vec<String> =
        blocks.iter().map(|b| format!("{} ({}): {} × {} × {}", b.name, b.op, b.side, b.side, b.channels)).collect();
    let _ = writeln!(s, "<desc id=\"arch-desc\">{}; {params} parameters in all.</desc>", desc.join(", then "));
    let mid = TOP + SIDE * SCALE / 2;
    let mut x = SIDE_MARGIN;
    for (i, b) in blocks.iter().enumerate() {
        let (w, h) = (width_of(b), b.side * SCALE);
        let y = mid - h / 2;
        let fill = match b.name {
            "latent" => "#fde68a",
            "image" | "output" => "#e5e7eb",
            _ if b.op.starts_with("max-pool") => "#dbeafe",
            _ => "#bfdbfe",
        };
        let _ = writeln!(
            s,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"3\" fill=\"{fill}\" stroke=\"#1e3a8a\" stroke-width=\"1\"/>"
        );
        let cx = x + w / 2;
        let _ = writeln!(
            s,
            "<text x=\"{cx}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"600\">{}</text>",
            TOP - 14,
            b.name
        );
        let _ = writeln!(
            s,
            "<text x=\"{cx}\" y=\"{}\" text-anchor=\"middle\">{} × {} × {}</text>",
            TOP + SIDE * SCALE + 18,
            b.side,
            b.side,
            b.channels
        );
        if b.params > 0 {
            let _ = writeln!(
                s,
                "<text x=\"{cx}\" y=\"{}\" text-anchor=\"middle\" fill=\"#4b5563\">{} params</text>",
                TOP + SIDE * SCALE + 34,
                thousands(b.params)
            );
        }
        if i + 1 < blocks.len() {
            // The arrow to the next map, labelled with the operation that makes it.
            let (x0, x1) = (x + w + 4, x + w + GAP - 4);
            let next = &blocks[i + 1];
            let _ = writeln!(
                s,
                "<line x1=\"{x0}\" y1=\"{mid}\" x2=\"{x1}\" y2=\"{mid}\" stroke=\"#374151\" marker-end=\"url(#arrow)\"/>"
            );
            let label = match next.op.as_str() {
                "max-pool 2 × 2" => "pool ↓2",
                op if op.starts_with("transposed") => "conv-T ↑2",
                _ => "conv 3×3",
            };
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"9\" fill=\"#374151\">{label}</text>",
                (x0 + x1) / 2,
                mid - 6
            );
        }
        x += w + GAP;
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\">Encoder: enc1, pool, enc2, pool → the 7 × 7 × 32 code (1,568 numbers). Decoder: dec1, up1, up2, out. {params} parameters.</text>",
        SIDE_MARGIN / 2,
        height - 24
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" fill=\"#4b5563\">conv-T ↑2: transposed convolution, stride 2. Leaky ReLU (or ReLU) after enc1, enc2 and dec1; sigmoid after out.</text>",
        SIDE_MARGIN / 2,
        height - 8
    );
    s.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"7\" refY=\"4\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\">\
         <path d=\"M0,0 L8,4 L0,8 z\" fill=\"#374151\"/></marker></defs>\n</svg>\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/www/figures/architecture.svg");

    #[test]
    fn the_committed_diagram_is_the_one_the_layer_table_draws() {
        let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
        assert!(
            committed == svg(),
            "www/figures/architecture.svg is stale: run `cargo run --release --bin mnist-dae-train -- --architecture www/figures/architecture.svg`"
        );
    }

    #[test]
    fn every_map_and_the_parameter_count_are_in_the_diagram() {
        let s = svg();
        assert!(s.contains("37,601 parameters in all"), "the model's 37,601 parameters");
        for label in [
            "28 × 28 × 1",
            "28 × 28 × 32",
            "14 × 14 × 32",
            "7 × 7 × 32",
            ">latent<",
            "320 params",
            "9,248 params",
            "289 params",
        ] {
            assert!(s.contains(label), "{label}");
        }
        assert_eq!(s.matches("<rect").count(), 9, "input and the eight stages");
    }
}
