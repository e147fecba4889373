"""Each customer's best local hour for email, from the open rate of what they were sent at each
hour, shrunk toward the store's hourly profile (retention/experiments/send_time.py)."""


from retention.dbt_build import model_as_of
from retention.engines.frames import model_frame
from retention.experiments.send_time import best_send_hours, local_hours


def model(dbt, session):
    dbt.config(materialized="table")
    sends = model_frame(dbt.ref("campaign_sends"), columns=[
        "customer_key", "channel", "is_treated", "is_delivered", "is_opened", "touched_at"])
    zones = model_frame(dbt.ref("int_audience_recipients"), columns=["customer_key", "time_zone"])
    sends = sends[sends["is_treated"].fillna(False).astype(bool) & (sends["channel"] == "email")
                  & sends["is_delivered"].fillna(False).astype(bool)]
    sends = sends.merge(zones, on="customer_key", how="left")
    sends["time_zone"] = sends["time_zone"].fillna(dbt.config.get("store_time_zone"))
    sends["local_hour"] = local_hours(sends["touched_at"], sends["time_zone"])
    hours = best_send_hours(sends.assign(opened=sends["is_opened"].fillna(False).astype(bool)))
    hours["as_of"] = model_as_of(dbt.config.get("as_of"))
    return hours
