//! Pictures of a run, drawn with plotters on an in-memory RGB bitmap and encoded
//! by `io::png`: heat maps with a colour bar, curves, the loss per term on a log
//! axis and the parameters per epoch. Text uses DejaVu Sans, embedded in the
//! binary (assets/fonts), so no system font is needed.

use super::png;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Distinct line colours (matplotlib's tab10).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// A colour map: control points from 0 to 1, linearly interpolated.
#[derive(Debug, Clone, Copy)]
pub enum ColorMap {
    /// Perceptually uniform, for values (matplotlib's viridis).
    Viridis,
    /// Dark to bright, for errors (matplotlib's inferno).
    Inferno,
}

impl ColorMap {
    fn at(self, t: f64) -> RGBColor {
        #[rustfmt::skip]
        const VIRIDIS: [(u8, u8, u8); 9] = [
            (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
            (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37),
        ];
        #[rustfmt::skip]
        const INFERNO: [(u8, u8, u8); 9] = [
            (0, 0, 4), (31, 12, 72), (85, 15, 109), (136, 34, 106), (186, 54, 85),
            (227, 89, 51), (249, 140, 10), (249, 201, 50), (252, 255, 164),
        ];
        let table = match self {
            ColorMap::Viridis => &VIRIDIS,
            ColorMap::Inferno => &INFERNO,
        };
        let t = if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let x = t * (table.len() - 1) as f64;
        let k = (x.floor() as usize).min(table.len() - 2);
        let f = x - k as f64;
        let mix = |a: u8, b: u8| (a as f64 + f * (b as f64 - a as f64)).round() as u8;
        let (a, b) = (table[k], table[k + 1]);
        RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}

/// Values over two coordinates (scattered on a grid: each point one cell).
pub struct HeatMap<'a> {
    pub title: String,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x: &'a [f64],
    pub y: &'a [f64],
    pub values: &'a [f64],
    pub color_map: ColorMap,
}

/// One line of a line plot.
pub struct Curve {
    pub label: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    /// Drawn thin and grey-dashed-looking (a reference solution).
    pub reference: bool,
}

/// A line plot: curves over one axis, optional vertical marks (phase switches).
pub struct LinePlot<'a> {
    pub title: String,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub curves: Vec<Curve>,
    pub log_y: bool,
    pub marks: Vec<(f64, String)>,
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

/// Draws on a white `width`×`height` canvas and returns the PNG file.
fn render(
    width: u32,
    height: u32,
    draw: impl FnOnce(&Area) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    static FONT_ONCE: std::sync::Once = std::sync::Once::new();
    FONT_ONCE.call_once(|| {
        let _ = register_font(FAMILY, FontStyle::Normal, FONT);
    });
    let mut buf = vec![255u8; 3 * width as usize * height as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    png::encode(&buf, width, height).map_err(|e| e.to_string())
}

/// A compact tick label: plain for moderate magnitudes, scientific otherwise.
fn tick(v: &f64) -> String {
    let a = v.abs();
    // Axis ticks computed as lo + k·step land a rounding error away from zero.
    if a < 1e-12 {
        "0".into()
    } else if (1e-2..1e4).contains(&a) {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.1e}")
    }
}

fn unique_sorted(v: &[f64]) -> Vec<f64> {
    let mut u: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    u.sort_by(f64::total_cmp);
    u.dedup();
    u
}

/// Cell edges around sorted centres: midpoints, and half a spacing beyond the ends.
fn edges(c: &[f64]) -> Vec<f64> {
    if c.len() < 2 {
        let v = c.first().copied().unwrap_or(0.0);
        return vec![v - 0.5, v + 0.5];
    }
    let mut e = vec![c[0] - (c[1] - c[0]) / 2.0];
    e.extend(c.windows(2).map(|w| (w[0] + w[1]) / 2.0));
    let n = c.len();
    e.push(c[n - 1] + (c[n - 1] - c[n - 2]) / 2.0);
    e
}

/// The finite range of `v`, widened when it is a single value.
fn range(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = v
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
            (l.min(x), h.max(x))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo <= 1e-12 * lo.abs().max(1e-300) {
        let pad = if lo == 0.0 { 1.0 } else { 0.1 * lo.abs() };
        return (lo - pad, hi + pad);
    }
    (lo, hi)
}

/// A heat map with a colour bar, as a PNG.
pub fn heat_map(h: &HeatMap) -> Result<Vec<u8>, String> {
    let (width, height) = (860u32, 560u32);
    let xs = unique_sorted(h.x);
    let ys = unique_sorted(h.y);
    let (xe, ye) = (edges(&xs), edges(&ys));
    let (vmin, vmax) = range(h.values.iter().copied());
    let shade = |v: f64| h.color_map.at((v - vmin) / (vmax - vmin));
    render(width, height, |root| {
        let (main, bar) = root.split_horizontally(width - 130);
        let mut chart = ChartBuilder::on(&main)
            .caption(&h.title, (FAMILY, 20))
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(64)
            .build_cartesian_2d(xe[0]..xe[xe.len() - 1], ye[0]..ye[ye.len() - 1])
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(h.x_label)
            .y_desc(h.y_label)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 17))
            .draw()
            .map_err(err)?;
        // A non-finite value (a point outside the domain's shape) stays blank.
        let cells = h.x.iter().zip(h.y).zip(h.values).filter_map(|((x, y), v)| {
            v.is_finite().then_some(())?;
            let i = xs.binary_search_by(|p| p.total_cmp(x)).ok()?;
            let j = ys.binary_search_by(|p| p.total_cmp(y)).ok()?;
            Some(Rectangle::new(
                [(xe[i], ye[j]), (xe[i + 1], ye[j + 1])],
                shade(*v).filled(),
            ))
        });
        chart.draw_series(cells).map_err(err)?;
        color_bar(&bar, vmin, vmax, h.color_map)
    })
}

fn color_bar(area: &Area, vmin: f64, vmax: f64, map: ColorMap) -> Result<(), String> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(48)
        .margin_bottom(64)
        .margin_right(24)
        .y_label_area_size(76)
        .build_cartesian_2d(0.0..1.0, vmin..vmax)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(7)
        .y_label_formatter(&tick)
        .label_style((FAMILY, 13))
        .draw()
        .map_err(err)?;
    let steps = 200;
    let band = |k: usize| vmin + (vmax - vmin) * k as f64 / steps as f64;
    chart
        .draw_series((0..steps).map(|k| {
            Rectangle::new(
                [(0.0, band(k)), (1.0, band(k + 1))],
                map.at((k as f64 + 0.5) / steps as f64).filled(),
            )
        }))
        .map_err(err)?;
    Ok(())
}

/// Line plots stacked vertically, one per entry (each its own y axis), as a PNG.
pub fn line_plots(plots: &[LinePlot]) -> Result<Vec<u8>, String> {
    let (width, each) = (860u32, if plots.len() > 1 { 320u32 } else { 520 });
    let height = each * plots.len().max(1) as u32;
    render(width, height, |root| {
        let panels = root.split_evenly((plots.len().max(1), 1));
        for (p, area) in plots.iter().zip(&panels) {
            if p.log_y {
                line_plot_log(area, p)?;
            } else {
                line_plot_linear(area, p)?;
            }
        }
        Ok(())
    })
}

fn x_range(p: &LinePlot) -> (f64, f64) {
    range(p.curves.iter().flat_map(|c| c.x.iter().copied()))
}

fn style(c: &Curve, k: usize) -> ShapeStyle {
    if c.reference {
        BLACK.mix(0.55).stroke_width(2)
    } else {
        PALETTE[k % PALETTE.len()].stroke_width(2)
    }
}

/// A mark's label reads rightwards from its line, or leftwards near the right edge.
fn mark_font(x: f64, x0: f64, x1: f64) -> TextStyle<'static> {
    let h = if x > x0 + 0.8 * (x1 - x0) {
        HPos::Right
    } else {
        HPos::Left
    };
    (FAMILY, 13)
        .into_font()
        .color(&BLACK.mix(0.6))
        .pos(Pos::new(h, VPos::Top))
}

fn line_plot_linear(area: &Area, p: &LinePlot) -> Result<(), String> {
    let (x0, x1) = x_range(p);
    let (y0, y1) = range(p.curves.iter().flat_map(|c| c.y.iter().copied()));
    let pad = 0.05 * (y1 - y0);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FAMILY, 19))
        .margin(14)
        .x_label_area_size(46)
        .y_label_area_size(76)
        .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc(p.x_label)
        .y_desc(p.y_label)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 17))
        .draw()
        .map_err(err)?;
    marks_and_curves(&mut chart, p, (y0 - pad, y1 + pad), |y| y.is_finite())?;
    legend(&mut chart, p)
}

fn line_plot_log(area: &Area, p: &LinePlot) -> Result<(), String> {
    let (x0, x1) = x_range(p);
    let positive = |c: &Curve| {
        c.y.iter()
            .copied()
            .filter(|y| *y > 0.0 && y.is_finite())
            .collect::<Vec<_>>()
    };
    let (lo, hi) = range(p.curves.iter().flat_map(positive));
    let (lo, hi) = (lo.max(1e-300) / 2.0, hi * 2.0);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FAMILY, 19))
        .margin(14)
        .x_label_area_size(46)
        .y_label_area_size(76)
        .build_cartesian_2d(x0..x1, (lo..hi).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc(p.x_label)
        .y_desc(p.y_label)
        .x_label_formatter(&tick)
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 17))
        .draw()
        .map_err(err)?;
    marks_and_curves(&mut chart, p, (lo, hi), |y| y > 0.0 && y.is_finite())?;
    legend(&mut chart, p)
}

/// The vertical marks (phase changes) from `bottom` to `top`, labelled at the top,
/// and every curve through its points whose y passes `keep` (a log axis drops y ≤ 0).
fn marks_and_curves<'a, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
    p: &LinePlot,
    (bottom, top): (f64, f64),
    keep: impl Fn(f64) -> bool,
) -> Result<(), String> {
    let (x0, x1) = x_range(p);
    for (x, label) in &p.marks {
        let line = vec![(*x, bottom), (*x, top)];
        chart
            .draw_series(std::iter::once(PathElement::new(line, BLACK.mix(0.4))))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                label.clone(),
                (*x, top),
                mark_font(*x, x0, x1),
            )))
            .map_err(err)?;
    }
    for (k, c) in p.curves.iter().enumerate() {
        let s = style(c, k);
        let pts: Vec<(f64, f64)> =
            c.x.iter()
                .copied()
                .zip(c.y.iter().copied())
                .filter(|&(_, y)| keep(y))
                .collect();
        chart
            .draw_series(LineSeries::new(pts, s))
            .map_err(err)?
            .label(c.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], s));
    }
    Ok(())
}

fn legend<'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
    p: &LinePlot,
) -> Result<(), String> {
    if p.curves.len() > 1 || p.curves.iter().any(|c| c.reference) {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font((FAMILY, 13))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_maps_hit_their_ends() {
        assert_eq!(ColorMap::Viridis.at(0.0), RGBColor(68, 1, 84));
        assert_eq!(ColorMap::Viridis.at(1.0), RGBColor(253, 231, 37));
        assert_eq!(ColorMap::Inferno.at(f64::NAN), RGBColor(0, 0, 4));
    }

    #[test]
    fn a_heat_map_is_a_png() {
        let x = [0.0, 1.0, 0.0, 1.0];
        let y = [0.0, 0.0, 1.0, 1.0];
        let v = [0.0, 1.0, 2.0, 3.0];
        let png = heat_map(&HeatMap {
            title: "t".into(),
            x_label: "x",
            y_label: "ψ",
            x: &x,
            y: &y,
            values: &v,
            color_map: ColorMap::Viridis,
        })
        .unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}
