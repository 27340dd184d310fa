"""The app host: a participant program over ``zhanye_sdk.client``."""
