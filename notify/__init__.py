"""Alert delivery: the Alertmanager client and config generator, and `seamline notify`, the
Alertmanager webhook receiver with a durable outbox that delivers to DingTalk, WeCom, Feishu/Lark,
e-mail, signed webhooks and Apprise URLs. See notify/README.md."""
