DROP TABLE data_migrations;
DROP INDEX proposals_one_open;
