//! The tutorial's two figures as PNGs: loss per epoch, and original / noisy / reconstructed
//! test digits. Text is drawn with DejaVu Sans embedded by the `dejavu` crate, so no system
//! font is needed.

use std::path::Path;
use std::sync::Once;

use futures_lite::future::block_on;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use mnist_dae::session::{EpochRecord, Session, TUTORIAL_VAL_LOSS};
use mnist_dae::{DaeError, PIXELS, SIDE};

fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular()).is_err() {
            panic!("the embedded DejaVu Sans does not parse");
        }
    });
}

fn drawing_error<E: std::fmt::Debug>(path: &Path) -> impl Fn(E) -> DaeError + '_ {
    move |e| DaeError::Backend(format!("{}: drawing failed: {e:?}", path.display()))
}

const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GREY: RGBColor = RGBColor(120, 120, 120);

type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart of losses against epochs 1..=`last` on `root`: the caption, axes spanning `values`
/// (with a margin) and the mesh, labels with `decimals` places.
fn epoch_chart<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    path: &Path,
    caption: &str,
    last: usize,
    values: impl Iterator<Item = f64>,
    (y_desc, decimals): (&str, usize),
) -> Result<Chart<'a, 'b>, DaeError> {
    let err = drawing_error(path);
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = ((hi - lo) * 0.08).max(1e-3);
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(1f64..last as f64, (lo - pad)..(hi + pad))
        .map_err(&err)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .x_labels(last.min(25))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.decimals$}"))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()
        .map_err(&err)?;
    Ok(chart)
}

/// The series' legend in the upper right, then the file written.
fn finish<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    root: &DrawingArea<BitMapBackend<'b>, Shift>,
    path: &Path,
) -> Result<(), DaeError> {
    let err = drawing_error(path);
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(&err)?;
    root.present().map_err(&err)
}

/// Training and validation loss against epochs, with the tutorial's reported 0.1171 for scale.
pub fn loss(path: &Path, history: &[EpochRecord], val_images: usize) -> Result<(), DaeError> {
    fonts();
    let err = drawing_error(path);
    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let last = history.last().map_or(1, |r| r.epoch).max(2);
    let values = history.iter().flat_map(|r| [r.train_loss, r.val_loss]).chain([TUTORIAL_VAL_LOSS]);
    let caption = "Training and validation loss (sigmoid cross-entropy)";
    let mut chart = epoch_chart(&root, path, caption, last, values, ("loss", 3))?;
    let series = |pick: fn(&EpochRecord) -> f64| history.iter().map(move |r| (r.epoch as f64, pick(r)));
    chart
        .draw_series(LineSeries::new(series(|r| r.train_loss), BLUE.stroke_width(2)))
        .map_err(&err)?
        .label("training")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart.draw_series(series(|r| r.train_loss).map(|p| Circle::new(p, 3, BLUE.filled()))).map_err(&err)?;
    chart
        .draw_series(LineSeries::new(series(|r| r.val_loss), ORANGE.stroke_width(2)))
        .map_err(&err)?
        .label(format!("validation ({val_images} noisy test images)"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], ORANGE.stroke_width(2)));
    chart.draw_series(series(|r| r.val_loss).map(|p| Circle::new(p, 3, ORANGE.filled()))).map_err(&err)?;
    // Dashes drawn as short segments, 1/80 of the axis long.
    let dash = (last as f64 - 1.0) / 80.0;
    let dashes = (0..80).map(|i| 1.0 + 2.0 * i as f64 * dash).take_while(|&x| x < last as f64).map(|x| {
        PathElement::new(
            [(x, TUTORIAL_VAL_LOSS), ((x + dash).min(last as f64), TUTORIAL_VAL_LOSS)],
            GREY.stroke_width(1),
        )
    });
    chart
        .draw_series(dashes)
        .map_err(&err)?
        .label("tutorial's validation loss after 25 epochs (0.1171)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 8, y)], GREY.stroke_width(1)));
    finish(&mut chart, &root, path)
}

/// The first validation image of each digit 0–9: original, noisy and reconstructed rows.
pub fn digits(path: &Path, session: &Session) -> Result<(), DaeError> {
    fonts();
    let err = drawing_error(path);
    let labels = session.validation_labels();
    let picks: Vec<usize> = (0..10u8).filter_map(|d| labels.iter().position(|&l| l == d)).collect();
    let gather = |src: &[f32]| -> Vec<f32> {
        picks.iter().flat_map(|&i| src[i * PIXELS..(i + 1) * PIXELS].iter().copied()).collect()
    };
    let (val_clean, val_noisy) = session.validation();
    let clean = gather(val_clean);
    let noisy = gather(val_noisy);
    let denoised = block_on(session.trainer().denoise(&noisy))?;
    const SCALE: i32 = 4;
    const GAP: i32 = 6;
    const LABEL: i32 = 130;
    let cell = SIDE as i32 * SCALE;
    let width = LABEL + picks.len() as i32 * (cell + GAP) + GAP;
    let height = 3 * (cell + GAP) + GAP;
    let root = BitMapBackend::new(path, (width as u32, height as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    for (row, (name, images)) in
        [("original", &clean), ("noisy", &noisy), ("reconstructed", &denoised)].into_iter().enumerate()
    {
        let top = GAP + row as i32 * (cell + GAP);
        root.draw(&Text::new(name, (10, top + cell / 2 - 9), ("sans-serif", 18).into_font().color(&BLACK)))
            .map_err(&err)?;
        for (col, image) in images.chunks_exact(PIXELS).enumerate() {
            let left = LABEL + GAP + col as i32 * (cell + GAP);
            for (i, &v) in image.iter().enumerate() {
                // MNIST's convention, as the tutorial's matplotlib `gray` map: 0 black, 1 white.
                let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                let (x, y) = (left + (i % SIDE) as i32 * SCALE, top + (i / SIDE) as i32 * SCALE);
                root.draw(&Rectangle::new([(x, y), (x + SCALE, y + SCALE)], RGBColor(g, g, g).filled()))
                    .map_err(&err)?;
            }
        }
    }
    root.present().map_err(&err)?;
    Ok(())
}

/// Colours of compared runs, in order.
const RUN_COLOURS: [RGBColor; 4] = [ORANGE, BLUE, RGBColor(44, 160, 44), RGBColor(148, 103, 189)];

/// Validation loss per epoch of several runs on one chart: `runs` are (label, history) pairs.
pub fn compare(path: &Path, runs: &[(String, Vec<EpochRecord>)]) -> Result<(), DaeError> {
    fonts();
    let err = drawing_error(path);
    if runs.is_empty() || runs.len() > RUN_COLOURS.len() || runs.iter().any(|(_, h)| h.is_empty()) {
        return Err(DaeError::Input(format!(
            "compare: expected 1 to {} runs with at least one epoch each, got {}",
            RUN_COLOURS.len(),
            runs.len()
        )));
    }
    let root = BitMapBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let last = runs.iter().flat_map(|(_, h)| h.iter().map(|r| r.epoch)).max().unwrap_or(1).max(2);
    let values = runs.iter().flat_map(|(_, h)| h.iter().map(|r| r.val_loss));
    let caption = "Validation loss per epoch (sigmoid cross-entropy)";
    let mut chart = epoch_chart(&root, path, caption, last, values, ("validation loss", 4))?;
    for ((label, history), colour) in runs.iter().zip(RUN_COLOURS) {
        let points = || history.iter().map(|r| (r.epoch as f64, r.val_loss));
        let end = history.last().map_or(0.0, |r| r.val_loss);
        chart
            .draw_series(LineSeries::new(points(), colour.stroke_width(2)))
            .map_err(&err)?
            .label(format!("{label} ({end:.4} after {} epochs)", history.len()))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart.draw_series(points().map(|p| Circle::new(p, 3, colour.filled()))).map_err(&err)?;
    }
    finish(&mut chart, &root, path)
}
