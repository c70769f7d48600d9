//! `sesame export`: the package an authority would publish now, written to a
//! folder without publishing anything (the build is rolled back).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use uuid::Uuid;

use super::disclosure::Thresholds;
use super::package::{self, File};
use super::queries;
use super::release::{self, Build, end_of_month, parse_month};

/// Builds the package of `epci` over months `from`..=`to` (`YYYY-MM`) into
/// `out`; returns the number of transactions rows written. A period that a
/// published release overlaps is refused unless `force`.
pub async fn write_package(
    database_url: &str,
    epci: &str,
    from: &str,
    to: &str,
    out: &Path,
    force: bool,
) -> anyhow::Result<usize> {
    let from = parse_month(from).context("--from must be a month, YYYY-MM")?;
    let to = end_of_month(parse_month(to).context("--to must be a month, YYYY-MM")?);
    anyhow::ensure!(from <= to, "--to is before --from");
    let mut conn = AsyncPgConnection::establish(database_url)
        .await
        .context("cannot connect to the database")?;
    let name: String = {
        use crate::schema::epcis;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        epcis::table
            .find(epci)
            .select(epcis::name)
            .first(&mut conn)
            .await
            .optional()?
            .with_context(|| format!("no EPCI with SIREN {epci}"))?
    };
    // Everything happens in one transaction that is never committed.
    conn.batch_execute("BEGIN").await?;
    let (overlaps, version) = queries::claim_period(&mut conn, epci, from, to).await?;
    if overlaps && !force {
        conn.batch_execute("ROLLBACK").await?;
        anyhow::bail!(
            "a published release of EPCI {epci} already covers part of {} – {}: this package's \
             cells, set against that release's, would reveal the numbers it suppressed. Choose \
             months no release covers (GET /api/v1/opendata/releases?epci={epci} lists them), or \
             pass --force to write it for internal use only",
            from.format("%Y-%m"),
            to.format("%Y-%m")
        );
    }
    if overlaps {
        tracing::warn!(
            epci,
            "written with --force over a published period: keep this package internal"
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let build = Build {
        id: Uuid::now_v7(),
        epci,
        version,
        from,
        to,
        created_at: chrono::Utc::now(),
        published_by: None,
        thresholds: Thresholds::default(),
    };
    let row = release::build(&mut conn, build).await?;
    let descriptor = serde_json::to_vec_pretty(&package::datapackage(&row, &name))?;
    std::fs::write(out.join("datapackage.json"), descriptor)?;
    for file in File::ALL {
        let path = out.join(file.name());
        let mut writer = std::io::BufWriter::new(
            std::fs::File::create(&path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        );
        writer.write_all(&file.head())?;
        let (mut after, mut first) = (0, true);
        while let Some((bytes, last)) = file.page(&mut conn, row.id, after, first).await? {
            writer.write_all(&bytes)?;
            (after, first) = (last, false);
        }
        writer.write_all(file.tail())?;
        writer.flush()?;
    }
    conn.batch_execute("ROLLBACK").await?;
    Ok(release::summary(&row)?.transactions_published)
}
