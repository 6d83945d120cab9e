//! The dependency graph as inline SVG. `layout-rs` places and draws the nodes and edges
//! (dependencies on the left, their readers to the right); a thin rendering backend around its
//! SVG writer adds a link over every node to the table's page. The writer's `<style>` element
//! (its font classes) is left out: the page's Content-Security-Policy allows no inline styles,
//! so the same rules live in `static/style.css`.

use crate::errors::escape_html;
use duro_core::status::Status;
use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;

/// One node: a table, its status and the page it links to.
pub struct Node {
    pub name: String,
    pub status: Status,
    pub href: String,
    /// A source (a table no file defines): drawn white with a dashed border.
    pub source: bool,
}

fn fill_of(status: Status) -> &'static str {
    match status {
        Status::Fresh => "#d4edda",
        Status::Due | Status::Forced => "#fff3cd",
        Status::Running => "#cce5ff",
        Status::Failed => "#f8d7da",
        Status::Removed => "#e2e3e5",
    }
}

/// Where `layout-rs` put the nodes of one graph, and its drawing (boxes without fill). It
/// depends only on the names and edges, so it is reused while the catalog is unchanged.
pub struct Layout {
    /// The drawing up to and including the `<svg …>` start tag.
    head: String,
    /// The rest of the drawing, without `</svg>`.
    body: String,
    /// Each node's box: top-left corner and size.
    boxes: Vec<Option<(Point, Point)>>,
}

/// Lays out `names` with `edges` (dependency → reader, by index), dependencies on the left.
pub(crate) fn layout(names: &[String], edges: &[(usize, usize)]) -> Layout {
    let mut graph = VisualGraph::new(Orientation::LeftToRight);
    let handles: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let look = StyleAttr::new(Color::new(0x4444_44ff), 1, None, 4, 13);
            let size = Point::new(name.len() as f64 * 8.0 + 24.0, 34.0);
            graph.add_node(Element::create_with_properties(
                ShapeKind::new_box(name),
                look,
                Orientation::LeftToRight,
                size,
                index.to_string(),
            ))
        })
        .collect();
    for (from, to) in edges {
        if from != to {
            graph.add_edge(Arrow::simple(""), handles[*from], handles[*to]);
        }
    }
    let mut backend = LinkingBackend { inner: SVGWriter::new(), boxes: vec![None; names.len()] };
    if !names.is_empty() {
        graph.do_it(false, false, false, &mut backend);
    }
    let drawn = backend.inner.finalize();
    let start = drawn.find("<svg").unwrap_or(0);
    let head_end = drawn[start..].find('>').map_or(drawn.len(), |i| start + i + 1);
    let end = drawn.rfind("</svg>").unwrap_or(drawn.len()).max(head_end);
    Layout {
        head: drawn[start..head_end].to_owned(),
        body: without_style(&drawn[head_end..end]),
        boxes: backend.boxes,
    }
}

/// `svg` without its `<style>…</style>` elements.
fn without_style(svg: &str) -> String {
    let mut rest = svg;
    let mut kept = String::with_capacity(svg.len());
    while let Some(start) = rest.find("<style") {
        kept.push_str(&rest[..start]);
        rest = rest[start..]
            .find("</style>")
            .map_or("", |end| &rest[start + end + "</style>".len()..]);
    }
    kept.push_str(rest);
    kept
}

/// The graph as an `<svg>` element: `layout` coloured by each node's status, with a link over
/// every node to its page. `nodes` are in the order of the names given to `layout`.
pub(crate) fn render(layout: &Layout, nodes: &[Node]) -> String {
    if nodes.is_empty() {
        return String::new();
    }
    let placed = || {
        nodes
            .iter()
            .zip(&layout.boxes)
            .filter_map(|(node, placed)| placed.map(|(xy, size)| (node, xy, size)))
    };
    let mut svg = layout.head.clone();
    for (node, xy, size) in placed() {
        let look = match node.source {
            true => "fill=\"#ffffff\" stroke=\"#6c757d\" stroke-dasharray=\"4 2\"".to_owned(),
            false => format!("fill=\"{}\"", fill_of(node.status)),
        };
        svg.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\" {look}/>\n",
            xy.x, xy.y, size.x, size.y,
        ));
    }
    svg.push_str(&layout.body);
    for (node, xy, size) in placed() {
        svg.push_str(&format!(
            "<a href=\"{href}\" class=\"node-link\"><title>{name}: {status}</title><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"transparent\"/></a>\n",
            href = escape_html(&node.href),
            name = escape_html(&node.name),
            status = if node.source { "source" } else { node.status.as_str() },
            x = xy.x,
            y = xy.y,
            w = size.x,
            h = size.y,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Passes everything to the SVG writer, remembering where each node's box was drawn (the node
/// index travels in the element's properties, which are otherwise written as raw attributes).
struct LinkingBackend {
    inner: SVGWriter,
    boxes: Vec<Option<(Point, Point)>>,
}

impl RenderBackend for LinkingBackend {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
        clip: Option<ClipHandle>,
    ) {
        if let Some(slot) = properties
            .as_deref()
            .and_then(|p| p.parse::<usize>().ok())
            .and_then(|index| self.boxes.get_mut(index))
        {
            *slot = Some((xy, size));
        }
        self.inner.draw_rect(xy, size, look, None, clip);
    }

    fn draw_line(&mut self, start: Point, stop: Point, look: &StyleAttr, _: Option<String>) {
        self.inner.draw_line(start, stop, look, None);
    }

    fn draw_circle(&mut self, xy: Point, size: Point, look: &StyleAttr, _: Option<String>) {
        self.inner.draw_circle(xy, size, look, None);
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        self.inner.draw_text(xy, text, look);
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        _: Option<String>,
        text: &str,
    ) {
        self.inner.draw_arrow(path, dashed, head, look, None, text);
    }

    fn create_clip(&mut self, xy: Point, size: Point, rounded_px: usize) -> ClipHandle {
        self.inner.create_clip(xy, size, rounded_px)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_links_to_its_page() {
        let names = vec!["s.base".to_owned(), "s.reader".to_owned()];
        let nodes = vec![
            Node {
                name: "s.base".to_owned(),
                status: Status::Fresh,
                source: false,
                href: "/tables/s.base".to_owned(),
            },
            Node {
                name: "s.reader".to_owned(),
                status: Status::Failed,
                source: false,
                href: "/tables/s.reader?a=1&b=2".to_owned(),
            },
        ];
        let svg = render(&layout(&names, &[(0, 1)]), &nodes);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("href=\"/tables/s.base\""));
        assert!(svg.contains("href=\"/tables/s.reader?a=1&amp;b=2\""));
        assert!(svg.contains("s.reader: failed"));
        assert!(svg.contains(fill_of(Status::Failed)) && svg.contains(fill_of(Status::Fresh)));
        assert!(svg.contains("s.base"), "the label is drawn");
        assert_eq!(svg.matches("<a href").count(), 2);
        assert!(render(&layout(&[], &[]), &[]).is_empty());
        // No inline styles (the CSP refuses them); the labels' class is in the stylesheet.
        assert!(!svg.contains("<style") && !svg.contains("style="), "{svg}");
        assert!(svg.contains("class=\"a13\""), "{svg}");
        assert!(crate::STYLESHEET.contains("svg .a13 {"));
    }

    #[test]
    fn style_elements_are_left_out() {
        for (svg, kept) in [
            ("<defs/><style>\n.a1 {}\n</style>\n<rect/>", "<defs/>\n<rect/>"),
            ("<style>a</style><g/><style>b</style>", "<g/>"),
            ("<rect/>", "<rect/>"),
            ("<g/><style>never closed", "<g/>"),
        ] {
            assert_eq!(without_style(svg), kept, "{svg}");
        }
    }
}
