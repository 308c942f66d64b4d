-- Sample data for the e-commerce example. Run it THROUGH the proxy after schema.sql:
--   mysql -h127.0.0.1 -P3307 -uroot -proot shop < examples/ecommerce/data.sql
-- One row per INSERT, explicit ids (no key generation needed). Routing (rules.toml):
--   t_user, t_product: ds_(id % 2)
--   t_order, t_order_item: ds_(user_id % 2).t_order[_item]_(order_id % 2); every node gets rows
-- Statuses mix case and trailing spaces ('PAID', 'paid', 'Paid', 'paid ') and names mix
-- accents ('Émile', 'emile', 'Zoë', 'zoe'): equal under utf8mb4_general_ci.
-- Totals: 4 regions, 2 config rows, 8 users, 6 products, 20 orders, 30 order items.

INSERT INTO t_region (region_id, name) VALUES (1, 'North');
INSERT INTO t_region (region_id, name) VALUES (2, 'South');
INSERT INTO t_region (region_id, name) VALUES (3, 'East');
INSERT INTO t_region (region_id, name) VALUES (4, 'West');

INSERT INTO t_config (k, v) VALUES ('currency', 'EUR');
INSERT INTO t_config (k, v) VALUES ('tax_rate', '0.20');

INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES (1, 'Alice', 'alice@example.com', 1, 120.50, '2026-01-02 09:15:00');
INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES (2, 'bob', 'bob@example.com', 2, 0.00, '2026-01-03 10:00:00');
INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES (3, 'Émile', 'emile@example.fr', 3, 75.25, '2026-01-05 11:30:00');
INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES (4, 'emile', 'emile2@example.fr', 3, 310.00, '2026-01-08 08:45:00');
INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES (5, 'Zoë', 'zoe@example.com', 4, 42.00, '2026-01-13 14:20:00');
INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES (6, 'zoe', NULL, 1, 5.75, '2026-01-21 16:05:00');
INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES (7, 'Chloé', 'chloe@example.fr', 2, 999.99, '2026-02-01 12:00:00');
INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES (8, 'Øystein', 'oystein@example.no', NULL, 18.40, '2026-02-14 18:30:00');

INSERT INTO t_product (product_id, name, category, price, stock) VALUES (101, 'Laptop', 'electronics', 1199.00, 12);
INSERT INTO t_product (product_id, name, category, price, stock) VALUES (102, 'Headphones', 'electronics', 89.90, 140);
INSERT INTO t_product (product_id, name, category, price, stock) VALUES (103, 'Coffee beans 1kg', 'grocery', 24.50, 300);
INSERT INTO t_product (product_id, name, category, price, stock) VALUES (104, 'Teapot', 'kitchen', 35.00, 40);
INSERT INTO t_product (product_id, name, category, price, stock) VALUES (105, 'Notebook', 'stationery', 4.99, 1000);
INSERT INTO t_product (product_id, name, category, price, stock) VALUES (106, 'Desk lamp', 'electronics', 49.95, 0);

INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1001, 1, 'PAID', 1248.00, 1, '2026-01-01 08:00:00', NULL);
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1002, 2, 'paid', 284.80, 2, '2026-02-05 09:07:00', 'gift wrap');
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1003, 4, 'SHIPPED', 78.49, 3, '2026-03-09 10:14:00', NULL);
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1004, 5, 'Paid', 134.90, 4, '2026-01-13 11:21:00', 'leave at door');
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1005, 7, 'NEW', 3606.98, NULL, '2026-02-17 12:28:00', NULL);
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1006, 8, 'shipped', 239.75, 2, '2026-03-21 13:35:00', NULL);
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1007, 2, 'paid ', 1248.00, 3, '2026-01-25 14:42:00', 'Größe M');
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1008, 3, 'CANCELLED', 284.80, 4, '2026-02-01 15:49:00', NULL);
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1009, 5, 'PAID', 78.49, 1, '2026-03-05 16:56:00', 'call first');
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1010, 6, 'new', 134.90, NULL, '2026-01-09 17:03:00', NULL);
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1011, 8, 'PAID', 9.98, 3, '2026-02-13 18:10:00', NULL);
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1012, 1, 'paid', 149.85, 4, '2026-03-17 19:17:00', 'gift wrap');
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1013, 3, 'SHIPPED', 1199.00, 1, '2026-01-21 08:24:00', NULL);
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1014, 4, 'Paid', 179.80, 2, '2026-02-25 09:31:00', 'leave at door');
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1015, 6, 'NEW', 73.50, NULL, '2026-03-01 10:38:00', NULL);
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1016, 7, 'shipped', 35.00, 4, '2026-01-05 11:45:00', NULL);
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1017, 1, 'paid ', 9.98, 1, '2026-02-09 12:52:00', 'Größe M');
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1018, 2, 'CANCELLED', 149.85, 2, '2026-03-13 13:59:00', NULL);
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1019, 4, 'PAID', 1199.00, 3, '2026-01-17 14:06:00', 'call first');
INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (1020, 5, 'new', 179.80, NULL, '2026-02-21 15:13:00', NULL);

INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5001, 1001, 1, 101, 1, 1199.00);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5002, 1001, 1, 103, 2, 24.50);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5003, 1002, 2, 102, 2, 89.90);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5004, 1002, 2, 104, 3, 35.00);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5005, 1003, 4, 103, 3, 24.50);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5006, 1003, 4, 105, 1, 4.99);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5007, 1004, 5, 104, 1, 35.00);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5008, 1004, 5, 106, 2, 49.95);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5009, 1005, 7, 105, 2, 4.99);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5010, 1005, 7, 101, 3, 1199.00);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5011, 1006, 8, 106, 3, 49.95);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5012, 1006, 8, 102, 1, 89.90);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5013, 1007, 2, 101, 1, 1199.00);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5014, 1007, 2, 103, 2, 24.50);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5015, 1008, 3, 102, 2, 89.90);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5016, 1008, 3, 104, 3, 35.00);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5017, 1009, 5, 103, 3, 24.50);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5018, 1009, 5, 105, 1, 4.99);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5019, 1010, 6, 104, 1, 35.00);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5020, 1010, 6, 106, 2, 49.95);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5021, 1011, 8, 105, 2, 4.99);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5022, 1012, 1, 106, 3, 49.95);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5023, 1013, 3, 101, 1, 1199.00);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5024, 1014, 4, 102, 2, 89.90);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5025, 1015, 6, 103, 3, 24.50);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5026, 1016, 7, 104, 1, 35.00);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5027, 1017, 1, 105, 2, 4.99);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5028, 1018, 2, 106, 3, 49.95);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5029, 1019, 4, 101, 1, 1199.00);
INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (5030, 1020, 5, 102, 2, 89.90);
