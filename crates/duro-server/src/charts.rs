//! Charts as inline SVG, drawn on the server by `plotters`: the jobs timeline (one row per
//! table, a bar from start to finish) and a table's build durations over time.

use crate::model::Job;
use crate::timefmt;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

/// At most this many tables get a row on the timeline; the jobs list below it has them all.
pub(crate) const TIMELINE_MAX_ROWS: usize = 200;

const SUCCEEDED: RGBColor = RGBColor(46, 139, 87);
const FAILED: RGBColor = RGBColor(200, 40, 40);
const RUNNING: RGBColor = RGBColor(40, 90, 200);
const OTHER: RGBColor = RGBColor(150, 150, 150);

fn color_of(state: &str) -> RGBColor {
    match state {
        "succeeded" => SUCCEEDED,
        "failed" => FAILED,
        "running" => RUNNING,
        _ => OTHER,
    }
}

/// The timeline of `jobs` over `[from_ms, to_ms]`; running jobs reach `now_ms`.
pub(crate) fn timeline(
    jobs: &[Job],
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> Result<String, String> {
    let mut tables: Vec<&str> = Vec::new();
    for job in jobs {
        if !tables.contains(&job.table.as_str()) && tables.len() < TIMELINE_MAX_ROWS {
            tables.push(&job.table);
        }
    }
    let rows = tables.len().max(1);
    let longest = tables.iter().map(|t| t.len()).max().unwrap_or(8);
    let height = (rows * 22 + 70) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let span = (to_ms - from_ms).max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size((longest * 7 + 10).min(320) as u32)
            .build_cartesian_2d(from_ms..to_ms, (0..rows).into_segmented())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .label_style(("sans-serif", 13))
            .x_labels(8)
            .y_labels(rows)
            .x_label_formatter(&|ms| timefmt::clock(*ms, span < 600_000))
            .y_label_formatter(&|value| match value {
                SegmentValue::CenterOf(i) if *i < rows => {
                    tables.get(rows - 1 - *i).map(|t| t.to_string()).unwrap_or_default()
                }
                _ => String::new(),
            })
            .draw()
            .map_err(|e| e.to_string())?;
        let minimum_width = span / 400;
        let bars = jobs.iter().filter_map(|job| {
            let row = rows - 1 - tables.iter().position(|t| *t == job.table)?;
            let start = job.start_ms.max(from_ms);
            let end = job.finish_ms.unwrap_or(now_ms).min(to_ms).max(start + minimum_width);
            let color = color_of(&job.state);
            Some(Rectangle::new(
                [(start, SegmentValue::Exact(row)), (end, SegmentValue::Exact(row + 1))],
                color.mix(0.85).filled(),
            ))
        });
        chart.draw_series(bars).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// One build on a table's duration chart.
pub(crate) struct DurationPoint {
    pub start_ms: i64,
    pub seconds: f64,
    pub succeeded: bool,
}

/// Build durations over time: a line through the successes, red dots for failures.
pub(crate) fn durations(points: &[DurationPoint]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let first = points.iter().map(|p| p.start_ms).min().unwrap_or(0);
        let last = points.iter().map(|p| p.start_ms).max().unwrap_or(0);
        // At least a minute wide, with the builds away from the edges.
        let pad = ((last - first) / 40).max((60_000 - (last - first)) / 2);
        let top = points.iter().map(|p| p.seconds).fold(0.0, f64::max).max(0.001) * 1.15;
        let span = last - first + 2 * pad;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d((first - pad)..(last + pad), 0.0..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 13))
            .x_labels(8)
            .y_desc("seconds")
            .x_label_formatter(&|ms| {
                if span > 2 * 86_400_000 {
                    timefmt::display(*ms)[5..10].to_owned()
                } else {
                    timefmt::clock(*ms, span < 600_000)
                }
            })
            .draw()
            .map_err(|e| e.to_string())?;
        let successes: Vec<(i64, f64)> =
            points.iter().filter(|p| p.succeeded).map(|p| (p.start_ms, p.seconds)).collect();
        chart
            .draw_series(LineSeries::new(successes.iter().copied(), SUCCEEDED.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label("succeeded")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], SUCCEEDED));
        chart
            .draw_series(successes.iter().map(|p| Circle::new(*p, 3, SUCCEEDED.filled())))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| !p.succeeded)
                    .map(|p| Cross::new((p.start_ms, p.seconds), 5, FAILED.stroke_width(2))),
            )
            .map_err(|e| e.to_string())?
            .label("failed")
            .legend(|(x, y)| Cross::new((x + 8, y), 4, FAILED.stroke_width(2)));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(table: &str, start: i64, finish: Option<i64>, state: &str) -> Job {
        Job {
            id: start,
            table: table.to_owned(),
            start: String::new(),
            start_ms: start,
            finish: None,
            finish_ms: finish,
            duration_ms: 0,
            state: state.to_owned(),
            failure_class: None,
            message: None,
            rows: None,
        }
    }

    #[test]
    fn timeline_has_a_row_per_table_and_colours_by_state() {
        let jobs = [
            job("s.alpha", 60_000, Some(120_000), "succeeded"),
            job("s.beta", 90_000, Some(100_000), "failed"),
            job("s.alpha", 150_000, None, "running"),
        ];
        let svg = timeline(&jobs, 0, 300_000, 200_000).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains(">\ns.alpha\n<") && svg.contains(">\ns.beta\n<"));
        assert!(svg.contains("#2E8B57") || svg.contains("#2e8b57"), "succeeded colour");
        assert!(svg.to_uppercase().contains("#C82828"), "failed colour");
        assert!(svg.to_uppercase().contains("#285AC8"), "running colour");
    }

    #[test]
    fn durations_chart_draws_successes_and_failures() {
        let points = [
            DurationPoint { start_ms: 0, seconds: 1.5, succeeded: true },
            DurationPoint { start_ms: 3_600_000, seconds: 2.0, succeeded: true },
            DurationPoint { start_ms: 7_200_000, seconds: 0.2, succeeded: false },
        ];
        let svg = durations(&points).unwrap();
        assert!(svg.contains("<polyline"), "a line through the successes");
        assert!(svg.contains(">\nsucceeded\n<") && svg.contains(">\nfailed\n<"));
        assert!(durations(&[]).unwrap().starts_with("<svg"));
    }
}
