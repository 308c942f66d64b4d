-- Logical schema of the e-commerce example (logical database `shop`).
--
-- Run it THROUGH the proxy (mysql -h127.0.0.1 -P3307 -uroot -proot shop < schema.sql):
-- shardgate creates the physical tables on every data node of each rule in
-- examples/ecommerce/rules.toml:
--   t_user        -> ds_0.t_user, ds_1.t_user
--   t_order       -> ds_{0,1}.t_order_{0,1}
--   t_order_item  -> ds_{0,1}.t_order_item_{0,1}
--   t_product     -> ds_0.t_product, ds_1.t_product
--   t_region      -> ds_0.t_region, ds_1.t_region (broadcast)
--   t_config      -> ds_0.t_config (single)

CREATE TABLE t_user (
  user_id    BIGINT        NOT NULL,
  name       VARCHAR(64)   NOT NULL,
  email      VARCHAR(128)  NULL,
  region_id  INT           NULL,
  balance    DECIMAL(12,2) NOT NULL DEFAULT 0.00,
  created_at DATETIME      NOT NULL,
  PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE t_order (
  order_id   BIGINT        NOT NULL,
  user_id    BIGINT        NOT NULL,
  status     VARCHAR(16)   NOT NULL,
  amount     DECIMAL(12,2) NOT NULL,
  region_id  INT           NULL,
  created_at DATETIME      NOT NULL,
  note       VARCHAR(255)  NULL,
  PRIMARY KEY (order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE t_order_item (
  item_id    BIGINT        NOT NULL,
  order_id   BIGINT        NOT NULL,
  user_id    BIGINT        NOT NULL,
  product_id BIGINT        NOT NULL,
  qty        INT           NOT NULL,
  price      DECIMAL(10,2) NOT NULL,
  PRIMARY KEY (item_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE t_product (
  product_id BIGINT        NOT NULL,
  name       VARCHAR(128)  NOT NULL,
  category   VARCHAR(32)   NOT NULL,
  price      DECIMAL(10,2) NOT NULL,
  stock      INT           NOT NULL DEFAULT 0,
  PRIMARY KEY (product_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE t_region (
  region_id  INT           NOT NULL,
  name       VARCHAR(64)   NOT NULL,
  PRIMARY KEY (region_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE t_config (
  k          VARCHAR(64)   NOT NULL,
  v          VARCHAR(255)  NULL,
  PRIMARY KEY (k)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
