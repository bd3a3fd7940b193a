-- The CRM database's tables, for PostgreSQL; on SQLite, id is
-- "integer PRIMARY KEY" and created "timestamp".
CREATE TABLE customer (
    id serial PRIMARY KEY,
    name text NOT NULL,
    balance numeric(12, 2) NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE note (
    customer_id int NOT NULL REFERENCES customer (id),
    text text NOT NULL CHECK (text <> '')
);
