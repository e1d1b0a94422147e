"""Reminders where people read them: notification channels (WeCom and
DingTalk group robots) per unit, sent as jobs with retry and a delivery log."""
