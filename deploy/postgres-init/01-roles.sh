#!/bin/sh
# Runs once, when the PostgreSQL volume is first created (docker-entrypoint-initdb.d).
# kaohe_owner owns the schema and runs the migrations; kaohe_app is what the
# web app and the workers log in as: it owns nothing and cannot bypass RLS.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE kaohe_owner LOGIN PASSWORD '${KAOHE_OWNER_PASSWORD}' NOSUPERUSER NOCREATEROLE NOCREATEDB;
CREATE ROLE kaohe_app   LOGIN PASSWORD '${KAOHE_APP_PASSWORD}'   NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
CREATE DATABASE kaohe OWNER kaohe_owner;
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname kaohe <<SQL
ALTER SCHEMA public OWNER TO kaohe_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO kaohe_app;
SQL
