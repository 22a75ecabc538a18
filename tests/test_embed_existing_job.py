"""The embed-existing job: its parameters are checked once, for the CLI, the flow and the Prefect UI form alike."""

from __future__ import annotations

import pytest
import typer.main
from pydantic import ValidationError
from typer.testing import CliRunner

from vectorsync.cli import app
from vectorsync.jobs import EmbedExisting


def test_defaults_name_the_atlas_sample_listings_and_their_summary():
    job = EmbedExisting()
    assert (job.database, job.collection, job.text_spec()) == ("sample_airbnb", "listingsAndReviews", ["summary"])
    assert (job.vector_field, job.long_text, job.update_index) == ("embedding", "truncate", False)


def test_comma_list_names_several_fields_and_a_template_stays_whole():
    assert EmbedExisting(text="name, summary ,description").text_spec() == ["name", "summary", "description"]
    assert EmbedExisting(text="{name}, in {address[country]}: {summary}").text_spec() == (
        "{name}, in {address[country]}: {summary}"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": "{}: {summary}"}, "must name its fields"),
        ({"text": " , "}, "name at least one field"),
        ({"text": "{name} in {address.country}"}, r"write a nested field as \{address\[country\]\}"),
        ({"text": "summary", "vector_field": "summary"}, "would overwrite a field of the text"),
        ({"text": "{address[street]}", "vector_field": "address"}, "would overwrite a field of the text"),
        ({"vector_field": "vectors.summary"}, "vector_field"),
        ({"long_text": "split"}, "long_text"),
        ({"documents_per_batch": 0}, "documents_per_batch"),
    ],
)
def test_unusable_parameters_are_refused_naming_the_problem(fields, message):
    with pytest.raises(ValidationError, match=message):
        EmbedExisting(**fields)


def test_index_overrides_reach_the_settings_but_the_collection_does_not(data_dir):
    job = EmbedExisting(
        collection="listings", index_name="summary_index", filter_fields="property_type, address.country"
    )
    settings = job.settings()

    assert settings.index_name == "summary_index"
    assert settings.filter_fields == ["property_type", "address.country"]
    assert settings.mongodb_collection == "chunks"
    assert EmbedExisting().settings().filter_fields == []


def test_cli_option_defaults_are_the_job_defaults():
    command = typer.main.get_command(app).commands["embed-existing"]
    fields = EmbedExisting.model_fields
    options = {param.name: param for param in command.params if param.name in fields}

    assert {"database", "collection", "text", "long_text", "update_index", "documents_per_batch"} <= set(options)
    for name, option in options.items():
        if option.required or option.default is None:
            continue
        assert option.default == fields[name].default, name


def test_command_without_mongodb_uri_fails_naming_the_setting(data_dir, prefect_harness, monkeypatch):
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "WARNING")
    result = CliRunner().invoke(
        app, ["embed-existing", "--database", "shop", "--collection", "products", "--text", "summary"]
    )
    assert result.exit_code == 1
    assert "MONGODB_URI is not set" in result.output
