"""The merchant call-desk CRM (商户管家): business rules for the kiosk host."""

from zhanye_sdk.merchant.auto_sms import AutoSmsRule, should_send
from zhanye_sdk.merchant.book import Customer, CustomerBook, Level
from zhanye_sdk.merchant.care import CareBook, CareSettings, Holiday
from zhanye_sdk.merchant.desk import MerchantDesk
from zhanye_sdk.merchant.ledger import LedgerEntry, PeriodTotal, SalesLedger
from zhanye_sdk.merchant.reservations import Reservation, ReservationBook, Resource

__all__ = [
    "AutoSmsRule",
    "CareBook",
    "CareSettings",
    "Customer",
    "CustomerBook",
    "Holiday",
    "LedgerEntry",
    "Level",
    "MerchantDesk",
    "PeriodTotal",
    "Reservation",
    "ReservationBook",
    "Resource",
    "SalesLedger",
    "should_send",
]
