//! `edgehal bench --plot F.svg`: a roofline (GFLOP/s against FLOP per byte, log-log, the two roofs
//! from the measured peaks) above an energy view (J per op against FLOP per byte), one SVG drawn
//! with plotters' SVG backend. Text is written as SVG `<text>` elements: no font files are read.
//!
//! Markers, so that a reader (or a test) can tell them apart without colour: in the roofline a
//! filled circle is a memory-bound case and a filled triangle a compute-bound one; in the energy
//! view a filled circle is `measured`, a filled triangle `attributed` and a hollow circle
//! `modelled` energy. Each panel has exactly one marker per plotted case (the legends are text),
//! so the SVG holds `2 × cases` `<circle>` / `<polygon>` elements. Cases without FLOPs (copies,
//! permutes) have no place on a FLOP-per-byte axis and are left out, and so are failed cases.

use super::report::BenchResult;
use crate::error::{CliError, Result, write_file};
use edgehal::Peaks;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Width and height of the SVG, px.
const SIZE: (u32, u32) = (1100, 1300);
/// Height of the roofline panel, px (the energy view takes the rest).
const TOP: u32 = 700;
const MEMORY: RGBColor = RGBColor(31, 119, 180);
const COMPUTE: RGBColor = RGBColor(214, 39, 40);
const FONT: &str = "sans-serif";

/// What the plot needs of one case.
struct Point<'a> {
    name: &'a str,
    intensity: f64,
    gflops: f64,
    joules: f64,
    label: &'a str,
    memory: bool,
}

/// The plotted cases: those that ran and have FLOPs (a log axis has no 0).
fn points(results: &[BenchResult]) -> Vec<Point<'_>> {
    results
        .iter()
        .filter_map(|r| {
            let f = r.figures.as_ref()?;
            (f.flops > 0 && f.gflops > 0.0 && f.intensity > 0.0).then_some(Point {
                name: &r.short,
                intensity: f.intensity,
                gflops: f.gflops,
                joules: f.energy_j,
                label: f.energy_label,
                memory: f.bound == "memory",
            })
        })
        .collect()
}

fn plot_err(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("--plot: {e}"))
}

/// `lo..hi` widened by `pad` either way (log axes), never empty.
fn span(values: impl IntoIterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() { (0.1, 10.0) } else { (lo / pad, hi.max(lo * 1.01) * pad) }
}

/// Writes the two-panel SVG to `path`. `title` names the device and backend.
pub fn write(path: &Path, results: &[BenchResult], peaks: &Peaks, title: &str) -> Result<()> {
    let pts = points(results);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let (top, bottom) = root.split_vertically(TOP);
        roofline(&top, &pts, peaks, title).map_err(plot_err)?;
        energy(&bottom, &pts).map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    write_file(path, svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = std::result::Result<(), DrawingAreaErrorKind<std::io::Error>>;

fn text_style(size: u32, h: HPos, v: VPos, color: &RGBColor) -> TextStyle<'static> {
    let style = TextStyle::from((FONT, size).into_font()).pos(Pos::new(h, v));
    TextStyle { color: color.to_backend_color(), ..style }
}

/// Label offsets that alternate above and below a marker, so neighbours overlap less.
fn label_at(i: usize, (x, y): (f64, f64), step: f64) -> ((f64, f64), VPos) {
    if i.is_multiple_of(2) { ((x * 1.08, y * step), VPos::Bottom) } else { ((x * 1.08, y / step), VPos::Top) }
}

fn roofline(area: &Area, pts: &[Point], peaks: &Peaks, title: &str) -> DrawResult {
    let (peak, bw) = (peaks.f32_gflops.max(1e-9), peaks.read_gbps.max(1e-9));
    let ridge = peak / bw;
    let (x0, x1) = span(pts.iter().map(|p| p.intensity).chain([ridge]), 4.0);
    let (y0, y1) = span(pts.iter().map(|p| p.gflops).chain([peak, bw * x0]), 3.0);
    let caption = format!("roofline: {title}");
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 20))
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?;
    chart
        .configure_mesh()
        .max_light_lines(1)
        .light_line_style(RGBColor(238, 238, 238))
        .y_labels(8)
        .x_desc("arithmetic intensity (FLOP/byte)")
        .y_desc("GFLOP/s (median)")
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .draw()?;
    let roof = vec![(x0, bw * x0), (ridge, peak), (x1, peak)];
    chart.draw_series(LineSeries::new(roof, BLACK.stroke_width(2)))?;
    let peak_label = format!("f32 FMA peak {peak:.1} GFLOP/s");
    let bw_label = format!("read bandwidth {bw:.1} GB/s");
    let black = text_style(14, HPos::Right, VPos::Bottom, &BLACK);
    chart.draw_series([Text::new(peak_label, (x1 / 1.3, peak * 1.05), black)])?;
    let slope_at = (x0 * ridge).sqrt().max(x0 * 1.5);
    let slope = text_style(14, HPos::Right, VPos::Bottom, &BLACK);
    chart.draw_series([Text::new(bw_label, (slope_at / 1.1, bw * slope_at * 1.1), slope)])?;
    for (i, p) in pts.iter().enumerate() {
        let (at, v) = label_at(i, (p.intensity, p.gflops), 1.12);
        let color = if p.memory { MEMORY } else { COMPUTE };
        chart.draw_series([Text::new(p.name.to_string(), at, text_style(11, HPos::Left, v, &color))])?;
        if p.memory {
            chart.draw_series([Circle::new((p.intensity, p.gflops), 5, color.filled())])?;
        } else {
            chart.draw_series([TriangleMarker::new((p.intensity, p.gflops), 7, color.filled())])?;
        }
    }
    let legend = "\u{25CF} memory-bound (left of the ridge)   \u{25B2} compute-bound";
    chart.draw_series([Text::new(legend, (x0 * 1.1, y1 / 1.1), text_style(13, HPos::Left, VPos::Top, &BLACK))])?;
    Ok(())
}

/// The energy view's title: which kind of figure it shows.
fn energy_title(pts: &[Point]) -> String {
    let all = |l: &str| !pts.is_empty() && pts.iter().all(|p| p.label == l);
    if all("modelled") {
        "energy per op: MODELLED (no energy meter; EnergyModel defaults, src/energy/model.rs)".into()
    } else if all("measured") {
        "energy per op: MEASURED (meter windows holding the op alone)".into()
    } else if all("attributed") {
        "energy per op: MEASURED, attributed (shares of meter windows)".into()
    } else {
        "energy per op: mixed measured / attributed / modelled (marker = label)".into()
    }
}

fn energy(area: &Area, pts: &[Point]) -> DrawResult {
    let (x0, x1) = span(pts.iter().map(|p| p.intensity), 4.0);
    let (y0, y1) = span(pts.iter().map(|p| p.joules), 4.0);
    let mut chart = ChartBuilder::on(area)
        .caption(energy_title(pts), (FONT, 20))
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?;
    chart
        .configure_mesh()
        .max_light_lines(1)
        .light_line_style(RGBColor(238, 238, 238))
        .y_labels(8)
        .x_desc("arithmetic intensity (FLOP/byte)")
        .y_desc("J per op run")
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    for (i, p) in pts.iter().enumerate() {
        let xy = (p.intensity, p.joules);
        let color = if p.memory { MEMORY } else { COMPUTE };
        let (at, v) = label_at(i, xy, 1.15);
        chart.draw_series([Text::new(p.name.to_string(), at, text_style(11, HPos::Left, v, &color))])?;
        match p.label {
            "measured" => chart.draw_series([Circle::new(xy, 5, color.filled())])?,
            "attributed" => chart.draw_series([TriangleMarker::new(xy, 7, color.filled())])?,
            _ => chart.draw_series([Circle::new(xy, 5, color.stroke_width(2))])?,
        };
    }
    let legend = "\u{25CF} measured   \u{25B2} attributed   \u{25CB} modelled;   blue memory-bound, red compute-bound";
    chart.draw_series([Text::new(legend, (x0 * 1.1, y1 / 1.1), text_style(13, HPos::Left, VPos::Top, &BLACK))])?;
    Ok(())
}

/// Axis numbers: 0.1, 1, 10, 1k, 10k.
fn fmt_num(v: f64) -> String {
    match v.abs() {
        a if a >= 1e6 => format!("{:.0}M", v / 1e6),
        a if a >= 1e3 => format!("{:.0}k", v / 1e3),
        a if a >= 1.0 => format!("{v:.0}"),
        a if a >= 0.01 => format!("{v:.2}"),
        _ => format!("{v:.0e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_pad_and_never_collapse() {
        assert_eq!(span([2.0, 8.0], 2.0), (1.0, 16.0));
        let (lo, hi) = span([5.0], 1.0);
        assert!(lo < hi);
        assert_eq!(span([0.0, f64::NAN], 2.0), (0.1, 10.0));
        assert_eq!(fmt_num(2048.0), "2k");
        assert_eq!(fmt_num(0.5), "0.50");
    }
}
