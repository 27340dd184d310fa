"""Device drivers: the USB GSM desk phone (AT engine, SMS PDU codec, modem service)."""
