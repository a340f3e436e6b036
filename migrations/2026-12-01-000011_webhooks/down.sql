DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_dispatch_position;
DROP TABLE webhook_endpoints;
DROP INDEX event_recipients_seq_idx;
DROP INDEX events_feed_order_idx;
