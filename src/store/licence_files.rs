//! Licence files as kept after their first request: one row per licence and format.

use sqlx::Row;

use super::Store;
use crate::error::Result;

impl Store {
    /// The kept file of a licence in `format` (`ofd`, `pdf-p256`, `pdf-sm2`), if it was made.
    pub async fn licence_file(&self, licence_id: &str, format: &str) -> Result<Option<Vec<u8>>> {
        let row =
            sqlx::query("SELECT content FROM licence_files WHERE licence_id = $1 AND format = $2")
                .bind(licence_id)
                .bind(format)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| Ok(r.try_get("content")?)).transpose()
    }

    /// Keeps a licence's file in `format` unless one is kept already, and answers the kept
    /// one: concurrent first requests that each made a file all answer the one that was
    /// stored first.
    pub async fn keep_licence_file(
        &self,
        licence_id: &str,
        format: &str,
        content: &[u8],
        at: i64,
    ) -> Result<Vec<u8>> {
        sqlx::query(
            "INSERT INTO licence_files (licence_id, format, content, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (licence_id, format) DO NOTHING",
        )
        .bind(licence_id)
        .bind(format)
        .bind(content)
        .bind(at)
        .execute(&self.pool)
        .await?;
        self.licence_file(licence_id, format).await?.ok_or_else(|| {
            crate::error::Error::Corrupt(format!(
                "licence {licence_id}: its {format} file vanished"
            ))
        })
    }
}
