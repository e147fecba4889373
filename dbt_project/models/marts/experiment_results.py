"""Per experiment, step and variant as of as_of: recipients, delivery, opens, clicks, conversions,
revenue, rates with Wilson intervals, probability of being best, z-test against the control with
Holm's correction, minimum detectable effect and the winner rule (retention/experiments/analysis.py)."""


from retention.activation.campaigns import load_campaigns
from retention.dbt_build import model_as_of
from retention.engines.frames import model_frame
from retention.experiments.analysis import experiment_results


def model(dbt, session):
    dbt.config(materialized="table")
    sends = model_frame(dbt.ref("campaign_sends"))
    return experiment_results(sends, load_campaigns(), model_as_of(dbt.config.get("as_of")))
