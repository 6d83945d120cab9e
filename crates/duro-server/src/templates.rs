//! The page templates (compiled into the binary) and the filters they use. Templates end in
//! `.html`, so Tera escapes every value unless a template marks it `safe` (only the SVG the
//! server drew itself is).

use crate::timefmt;
use std::collections::HashMap;
use tera::{Tera, Value};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("jobs.html", include_str!("../templates/jobs.html")),
    ("tables.html", include_str!("../templates/tables.html")),
    ("table.html", include_str!("../templates/table.html")),
    ("graph.html", include_str!("../templates/graph.html")),
    ("source.html", include_str!("../templates/source.html")),
    ("buttons.html", include_str!("../templates/buttons.html")),
];

pub(crate) fn load() -> tera::Result<Tera> {
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES.to_vec())?;
    // The same escaping as everywhere else in the server (`&<>"'`; `/` stays readable in URLs).
    tera.set_escape_fn(crate::errors::escape_html);
    tera.register_filter("duration", |value: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(value.as_f64().map(timefmt::duration).unwrap_or_default()))
    });
    tera.register_filter("when", |value: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(value.as_i64().map(timefmt::display).unwrap_or_default()))
    });
    tera.register_filter("iso", |value: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(value.as_i64().map(timefmt::iso).unwrap_or_default()))
    });
    tera.register_filter("ago", |value: &Value, args: &HashMap<String, Value>| {
        let now = args.get("now").and_then(Value::as_i64).unwrap_or_default();
        Ok(Value::String(value.as_i64().map(|ms| timefmt::relative(ms, now)).unwrap_or_default()))
    });
    Ok(tera)
}

#[cfg(test)]
mod tests {
    #[test]
    fn templates_compile() {
        let tera = super::load().unwrap();
        assert!(tera.get_template_names().count() >= 5);
    }
}
