"""What tests share: one poller (`polling`), one recorder of published events (`events`) and the
settings every service under test is started with (`settings`)."""
