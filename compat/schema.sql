-- Created through the proxy by compat/run.sh (sharded by id, see compat/rules-extra.toml).
DROP TABLE IF EXISTS compat_types;
CREATE TABLE compat_types (
  id   BIGINT        NOT NULL,
  i    INT           NULL,
  b    BIGINT        NULL,
  d    DECIMAL(16,4) NULL,
  s    VARCHAR(64)   NULL,
  dt   DATETIME      NULL,
  dt6  DATETIME(6)   NULL,
  dd   DATE          NULL,
  f    DOUBLE        NULL,
  bin  VARBINARY(64) NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
