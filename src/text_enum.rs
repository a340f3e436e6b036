//! Enumerations stored as text and exposed as lower-case strings.

/// Declares an enum whose variants are lower-case strings in JSON, in the spec and in
/// PostgreSQL (a `text` column with a CHECK constraint). Its doc comments, and those of its
/// variants, become the schema's description.
#[macro_export]
macro_rules! text_enum {
    ($(#[doc = $doc:literal])* pub enum $name:ident {
        $($(#[doc = $vdoc:literal])* $variant:ident = $text:literal),+ $(,)?
    }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
                 diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($(#[doc = $vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("unknown {}: {other}", stringify!($name))),
                }
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let mut description = String::new();
                $(description.push_str($doc.trim()); description.push(' ');)*
                let description = description.trim_end().to_string();
                let mut values = Vec::<String>::new();
                $(
                    #[allow(unused_mut)]
                    let mut line = format!("- `{}`", $text);
                    #[allow(unused_mut, unused_assignments)]
                    let mut sep = ": ";
                    $(line.push_str(sep); line.push_str($vdoc.trim()); sep = " ";)*
                    let _ = sep;
                    values.push(line);
                )+
                let description = if values.iter().any(|v| v.contains(": ")) {
                    format!("{description}\n\n{}", values.join("\n"))
                } else {
                    description
                };
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(description))
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>)
                -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(), out)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let s = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg>>::from_sql(bytes)?;
                s.parse().map_err(|e: String| e.into())
            }
        }
    };
}
