//! [`CaseQuery`]: a DataFusion session over one case's Parquet parts.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::MemTable;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::Expr;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use firebreak_store::table::Table;
use firebreak_store::CaseStore;

use crate::convert::batches_to_table;
use crate::error::{QueryError, Result};
use crate::exprs::and_all;

/// Name of the events table.
pub const CLOUDTRAIL_TABLE: &str = "cloudtrail";
/// Name of the findings table.
pub const FINDINGS_TABLE: &str = "findings";

/// A DataFusion session over a case with two tables: `cloudtrail` (the case's
/// `events/part-*.parquet`) and `findings` (`findings/part-*.parquet`).
///
/// The part files are listed once, when the session is opened: parts committed later are
/// seen by the next `CaseQuery`. A case without parts has both tables, empty, with their
/// schema. The API is synchronous: the session owns a small tokio runtime and blocks on
/// it, so it must not be called from inside another tokio runtime.
pub struct CaseQuery {
    runtime: tokio::runtime::Runtime,
    ctx: SessionContext,
    case_dir: PathBuf,
    event_files: Vec<PathBuf>,
    finding_parts: usize,
    skipped: Vec<SkippedPart>,
}

/// A part file left out of the session because its Parquet footer cannot be read
/// (truncated or not Parquet); the other parts are still queried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedPart {
    /// The file.
    pub path: PathBuf,
    /// Why it was left out (the Parquet reader's message).
    pub reason: String,
}

impl std::fmt::Display for SkippedPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::fmt::Debug for CaseQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseQuery")
            .field("case_dir", &self.case_dir)
            .field("event_parts", &self.event_files.len())
            .field("finding_parts", &self.finding_parts)
            .field("skipped", &self.skipped)
            .finish()
    }
}

impl CaseQuery {
    /// Opens a session over the case `store` (its parts as listed now).
    pub fn open(store: &CaseStore) -> Result<CaseQuery> {
        let event_files = store.event_files()?;
        let finding_files = store.finding_files()?;
        CaseQuery::open_parts(store.dir(), event_files, finding_files)
    }

    /// Opens a session over the case folder `case_dir` (must hold `case.json`).
    pub fn open_dir(case_dir: &Path) -> Result<CaseQuery> {
        CaseQuery::open(&CaseStore::open(case_dir)?)
    }

    fn open_parts(
        case_dir: &Path,
        event_files: Vec<PathBuf>,
        finding_files: Vec<PathBuf>,
    ) -> Result<CaseQuery> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 16);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("firebreak-query")
            .build()
            .map_err(QueryError::Runtime)?;
        let mut config = SessionConfig::new()
            .with_target_partitions(threads)
            .with_information_schema(true);
        {
            let parquet = &mut config.options_mut().execution.parquet;
            // Late materialisation: the filter columns are decoded first, the other
            // columns only for the rows that pass (pivots on one key read little).
            parquet.pushdown_filters = true;
            parquet.reorder_filters = true;
        }
        let ctx = SessionContext::new_with_config(config);
        let mut skipped = Vec::new();
        let event_files = readable_parts(event_files, &mut skipped);
        let finding_files = readable_parts(finding_files, &mut skipped);
        let finding_parts = finding_files.len();
        runtime.block_on(async {
            register(
                &ctx,
                CLOUDTRAIL_TABLE,
                &event_files,
                firebreak_store::schema::cloudtrail_schema(),
            )?;
            register(
                &ctx,
                FINDINGS_TABLE,
                &finding_files,
                firebreak_store::schema::findings_schema(),
            )
        })?;
        Ok(CaseQuery {
            runtime,
            ctx,
            case_dir: case_dir.to_path_buf(),
            event_files,
            finding_parts,
            skipped,
        })
    }

    /// Part files left out because they cannot be read (empty when all are fine).
    pub fn skipped_parts(&self) -> &[SkippedPart] {
        &self.skipped
    }

    /// The case folder.
    pub fn case_dir(&self) -> &Path {
        &self.case_dir
    }

    /// How many event part files the session reads.
    pub fn event_parts(&self) -> usize {
        self.event_files.len()
    }

    /// The event part files the session reads.
    pub(crate) fn event_files(&self) -> &[PathBuf] {
        &self.event_files
    }

    /// How many finding part files the session reads.
    pub fn finding_parts(&self) -> usize {
        self.finding_parts
    }

    /// The DataFusion session, for callers that build their own plans.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs a SELECT over `cloudtrail` and `findings` and returns it as text cells.
    ///
    /// Column names are DataFusion's, shortened: `useridentity.arn` for the struct field
    /// access `useridentity.arn` (DataFusion calls it `cloudtrail.useridentity[arn]`).
    pub fn sql(&self, sql: &str) -> Result<Table> {
        let batches = self.sql_batches(sql)?;
        let schema = match batches.first() {
            Some(batch) => batch.schema(),
            None => self.sql_schema(sql)?,
        };
        batches_to_table(&schema, &batches).map_err(|e| QueryError::Sql {
            message: e.to_string(),
        })
    }

    /// Runs a SELECT and returns the Arrow batches.
    pub fn sql_batches(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        self.block_on(async {
            let df = self.plan_sql(sql).await?;
            df.collect().await.map_err(|e| QueryError::Sql {
                message: e.to_string(),
            })
        })
    }

    fn sql_schema(&self, sql: &str) -> Result<SchemaRef> {
        self.block_on(async {
            let df = self.plan_sql(sql).await?;
            Ok(Arc::new(df.schema().as_arrow().clone()))
        })
    }

    async fn plan_sql(&self, sql: &str) -> Result<DataFrame> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        self.ctx.sql_with_options(sql, options).await.map_err(|e| {
            let message = e.to_string();
            if message.contains("DDL not supported")
                || message.contains("DML not supported")
                || message.contains("Statement not supported")
            {
                QueryError::NotAQuery { message }
            } else {
                QueryError::Sql { message }
            }
        })
    }

    /// The `cloudtrail` table as a DataFrame.
    pub(crate) async fn events(&self, what: &str) -> Result<DataFrame> {
        self.ctx
            .table(CLOUDTRAIL_TABLE)
            .await
            .map_err(|e| QueryError::exec(what, e))
    }

    /// The `cloudtrail` rows matching every one of `filters`, shaped by `shape` (a
    /// projection or an aggregation), collected. Errors name `what`.
    pub(crate) fn collect_events(
        &self,
        what: &str,
        filters: Vec<Expr>,
        shape: impl FnOnce(DataFrame) -> datafusion::error::Result<DataFrame>,
    ) -> Result<Vec<RecordBatch>> {
        self.block_on(async {
            let mut df = self.events(what).await?;
            if let Some(predicate) = and_all(filters) {
                df = df
                    .filter(predicate)
                    .map_err(|e| QueryError::exec(what, e))?;
            }
            shape(df)
                .map_err(|e| QueryError::exec(what, e))?
                .collect()
                .await
                .map_err(|e| QueryError::exec(what, e))
        })
    }

    /// Runs `future` on the session's runtime.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

/// The files of `files` whose Parquet footer reads; the others go to `skipped`.
fn readable_parts(files: Vec<PathBuf>, skipped: &mut Vec<SkippedPart>) -> Vec<PathBuf> {
    use datafusion::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
    let mut readable = Vec::with_capacity(files.len());
    for path in files {
        let outcome = std::fs::File::open(&path)
            .map_err(|e| e.to_string())
            .and_then(|file| {
                ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
                    .map_err(|e| e.to_string())
            });
        match outcome {
            Ok(_) => readable.push(path),
            Err(reason) => skipped.push(SkippedPart { path, reason }),
        }
    }
    readable
}

/// Registers `files` as table `name`, or an empty table with `schema` when there are none.
fn register(ctx: &SessionContext, name: &str, files: &[PathBuf], schema: SchemaRef) -> Result<()> {
    let what = format!("registering table {name}");
    if files.is_empty() {
        let table =
            MemTable::try_new(schema, vec![Vec::new()]).map_err(|e| QueryError::exec(&what, e))?;
        ctx.register_table(name, Arc::new(table))
            .map_err(|e| QueryError::exec(&what, e))?;
        return Ok(());
    }
    let mut urls = Vec::with_capacity(files.len());
    for file in files {
        let Some(text) = file.to_str() else {
            return Err(QueryError::exec(
                &what,
                format!("path is not UTF-8: {}", file.display()),
            ));
        };
        let url = ListingTableUrl::parse(text)
            .map_err(|e| QueryError::exec(&what, format!("{}: {e}", file.display())))?;
        urls.push(url);
    }
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema);
    let table = ListingTable::try_new(config).map_err(|e| QueryError::exec(&what, e))?;
    ctx.register_table(name, Arc::new(table))
        .map_err(|e| QueryError::exec(&what, e))?;
    Ok(())
}
