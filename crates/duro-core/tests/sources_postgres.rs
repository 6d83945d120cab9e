//! A PostgreSQL replication source against the test cluster: its columns, the highest value of
//! the replication field, whether that field is indexed, and exports between watermarks whose
//! CSV loads back into another database byte for byte (NULL distinct from the empty string and
//! from a value `\N`);
//! exports cannot write, and errors name the source, never its password. Over TLS, verified
//! against the test cluster's CA.

use duro_core::build::FailureClass;
use duro_core::catalog::replication::Nulls;
use duro_core::config::{RootCertificates, SourceConnection, TlsMode};
use duro_core::identifier::TableName;
use duro_core::sources::postgres::PostgresSource;
use duro_core::sources::{ExportColumn, ExportRequest, FieldRange, Source};
use duro_core::testing::{cluster, fresh_database};

const SOURCE: &str = "
    create table public.users (
        id integer primary key, email text, password text, note text, updated_at timestamp
    );
    create index users_by_update on public.users (updated_at);
    create sequence public.counter;
    insert into public.users values
        (1, 'Ann@Example.com', 'secret-1', 'a, b', '2026-12-01 10:00:00'),
        (2, 'bob@example.com', 'secret-2', 'say \"hi\"', '2026-12-01 11:00:00'),
        (3, 'cy@example.com', 'secret-3', E'back\\\\slash\\nnew line', '2026-12-01 12:00:00'),
        (4, 'dé@example.com', 'secret-4', '', '2026-12-01 13:00:00'),
        (5, 'eve@example.com', 'secret-5', null, null),
        (6, 'fay@example.com', 'secret-6', '\\N', null);
";

/// The source at `url`, over TLS verified against the test cluster's CA.
fn source(url: &str) -> PostgresSource {
    let connection = SourceConnection {
        url: Some(url.into()),
        tls: Some(TlsMode::VerifyCa),
        tls_roots: RootCertificates::read_pem(&cluster().ca_cert).unwrap(),
        ..SourceConnection::default()
    };
    PostgresSource::connect("app", &connection, "duro-test").unwrap()
}

fn users() -> TableName {
    TableName::parse("public.users").unwrap()
}

fn columns() -> Vec<ExportColumn> {
    vec![
        ExportColumn { name: "id".into(), expression: None },
        ExportColumn { name: "email".into(), expression: Some("lower(email)".into()) },
        ExportColumn { name: "note".into(), expression: None },
    ]
}

/// Loads `csv` into a new table of a fresh database; returns its rows by id.
fn load_back(csv: &[u8]) -> Vec<(i32, Option<String>, Option<String>)> {
    let mut target = postgres::Client::connect(&fresh_database(), postgres::NoTls).unwrap();
    target.batch_execute("create table copied (id integer, email text, note text)").unwrap();
    let mut writer =
        target.copy_in("copy copied from stdin with (format csv, null '\\N')").unwrap();
    std::io::Write::write_all(&mut writer, csv).unwrap();
    writer.finish().unwrap();
    target
        .query("select id, email, note from copied order by id", &[])
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

#[test]
fn columns_index_and_highest_value() {
    let url = fresh_database();
    postgres::Client::connect(&url, postgres::NoTls).unwrap().batch_execute(SOURCE).unwrap();
    let mut source = source(&url);
    let found: Vec<(String, String)> =
        source.columns(&users()).unwrap().into_iter().map(|c| (c.name, c.type_name)).collect();
    assert_eq!(
        found,
        [
            ("id".to_owned(), "integer".to_owned()),
            ("email".to_owned(), "text".to_owned()),
            ("password".to_owned(), "text".to_owned()),
            ("note".to_owned(), "text".to_owned()),
            ("updated_at".to_owned(), "timestamp without time zone".to_owned()),
        ]
    );
    assert!(source.is_indexed(&users(), "updated_at").unwrap());
    assert!(!source.is_indexed(&users(), "email").unwrap());
    assert_eq!(
        source.max_value(&users(), "updated_at").unwrap().as_deref(),
        Some("2026-12-01 13:00:00")
    );
    let missing = source.columns(&TableName::parse("public.nothing").unwrap()).unwrap_err();
    assert_eq!(missing.class, FailureClass::Configuration);
    assert_eq!(missing.message, "source `app` has no table `public.nothing`");
}

/// Every value arrives as it left, the columns in the requested order, the password never.
#[test]
fn exports_round_trip_byte_for_byte() {
    let url = fresh_database();
    postgres::Client::connect(&url, postgres::NoTls).unwrap().batch_execute(SOURCE).unwrap();
    let mut source = source(&url);
    let request = ExportRequest { table: users(), columns: columns(), range: None };
    let mut csv = Vec::new();
    let rows = source.export(&request, &mut csv, 60_000).unwrap();
    assert_eq!(rows, 6);
    assert!(!String::from_utf8_lossy(&csv).contains("secret"));
    let some = |text: &str| Some(text.to_owned());
    assert_eq!(
        load_back(&csv),
        [
            (1, some("ann@example.com"), some("a, b")),
            (2, some("bob@example.com"), some("say \"hi\"")),
            (3, some("cy@example.com"), some("back\\slash\nnew line")),
            (4, some("dé@example.com"), some("")),
            (5, some("eve@example.com"), None),
            (6, some("fay@example.com"), some("\\N")),
        ]
    );
}

/// `(lo, hi]` on the replication field, NULL rows only when asked for.
#[test]
fn exports_between_watermarks() {
    let url = fresh_database();
    postgres::Client::connect(&url, postgres::NoTls).unwrap().batch_execute(SOURCE).unwrap();
    let mut source = source(&url);
    let ids = |source: &mut PostgresSource, lo: Option<&str>, hi: &str, nulls| {
        let range = FieldRange {
            field: "updated_at".into(),
            type_name: "timestamp without time zone".into(),
            lo: lo.map(str::to_owned),
            lookback_seconds: 0,
            hi: hi.to_owned(),
            nulls,
        };
        let request = ExportRequest { table: users(), columns: columns(), range: Some(range) };
        let mut csv = Vec::new();
        source.export(&request, &mut csv, 60_000).unwrap();
        load_back(&csv).into_iter().map(|(id, _, _)| id).collect::<Vec<_>>()
    };
    assert_eq!(ids(&mut source, None, "2026-12-01 11:00:00", Nulls::Skip), [1, 2]);
    assert_eq!(
        ids(&mut source, Some("2026-12-01 11:00:00"), "2026-12-01 13:00:00", Nulls::Skip),
        [3, 4]
    );
    assert_eq!(
        ids(&mut source, Some("2026-12-01 12:00:00"), "2026-12-01 13:00:00", Nulls::Include),
        [4, 5, 6]
    );
    // A lookback reads again before the lower bound.
    let range = FieldRange {
        field: "updated_at".into(),
        type_name: "timestamp without time zone".into(),
        lo: Some("2026-12-01 11:00:00".into()),
        lookback_seconds: 3600,
        hi: "2026-12-01 12:00:00".into(),
        nulls: Nulls::Skip,
    };
    let mut csv = Vec::new();
    let request = ExportRequest { table: users(), columns: columns(), range: Some(range) };
    source.export(&request, &mut csv, 60_000).unwrap();
    assert_eq!(load_back(&csv).into_iter().map(|(id, _, _)| id).collect::<Vec<_>>(), [2, 3]);
    // An empty range writes nothing.
    let request = ExportRequest {
        table: users(),
        columns: columns(),
        range: Some(FieldRange {
            field: "updated_at".into(),
            type_name: "timestamp without time zone".into(),
            lo: Some("2026-12-01 13:00:00".into()),
            lookback_seconds: 0,
            hi: "2026-12-01 13:00:00".into(),
            nulls: Nulls::Skip,
        }),
    };
    let mut csv = Vec::new();
    assert_eq!(source.export(&request, &mut csv, 60_000).unwrap(), 0);
    assert!(csv.is_empty());
}

/// The export's transaction is read-only: an expression that writes fails; and an unreachable
/// source is named without its password.
#[test]
fn exports_cannot_write_and_errors_hide_the_password() {
    let url = fresh_database();
    postgres::Client::connect(&url, postgres::NoTls).unwrap().batch_execute(SOURCE).unwrap();
    let mut source = source(&url);
    let request = ExportRequest {
        table: users(),
        columns: vec![ExportColumn {
            name: "n".into(),
            expression: Some("nextval('public.counter')".into()),
        }],
        range: None,
    };
    let error = source.export(&request, &mut Vec::new(), 60_000).unwrap_err();
    assert!(error.message.contains("read-only transaction"), "{}", error.message);
    // A second statement in the text never runs: it is sent as one statement, which fails.
    let request = ExportRequest {
        table: users(),
        columns: vec![ExportColumn {
            name: "n".into(),
            expression: Some(
                "1) as n from public.users; drop table public.users; select (1".into(),
            ),
        }],
        range: None,
    };
    assert!(source.export(&request, &mut Vec::new(), 60_000).is_err());
    assert_eq!(source.columns(&users()).unwrap().len(), 5, "the table is still there");
    let unreachable = SourceConnection {
        url: Some("postgres://reader@127.0.0.1:1/app".into()),
        password: Some("hunter9".into()),
        ..SourceConnection::default()
    };
    let error = PostgresSource::connect("app", &unreachable, "duro-test").err().unwrap();
    assert_eq!(error.class, FailureClass::Connection);
    assert!(
        error.message.starts_with("source `app`: cannot connect to reader@127.0.0.1:1/app"),
        "{}",
        error.message
    );
    assert!(!error.message.contains("hunter9"), "{}", error.message);
}
