"""What the Functions worker checks when it loads the app, checked here with the
library's own converters: every bound parameter must be annotated with a type its
binding accepts, or the worker refuses to load the function (and the host answers
503 to everything)."""

import inspect
import typing

from azure.functions import meta
from azurefunctions.extensions.http.fastapi import Request, Response

from tests.support import function_host


def hints_of(function) -> dict:
    return typing.get_type_hints(inspect.unwrap(function.get_user_function()))


def test_every_bound_parameter_has_a_type_its_binding_accepts():
    registry = meta.get_binding_registry()
    checked = set()
    for name, function in function_host().functions.items():
        hints = hints_of(function)
        for binding in function.get_bindings_dict()["bindings"]:
            if binding["name"] == "$return":
                continue
            annotation = hints.get(binding["name"])
            assert isinstance(annotation, type), (name, binding["name"], annotation)
            if binding["type"] == "httpTrigger":  # the HTTP-streams extension's types only
                assert issubclass(annotation, Request), (name, annotation)
                assert issubclass(hints["return"], Response), (name, hints["return"])
            else:
                converter = registry.get(binding["type"])
                assert converter.check_input_type_annotation(annotation), (name, binding["type"], annotation)
            checked.add(binding["type"])
    assert {
        "httpTrigger",
        "durableClient",
        "activityTrigger",
        "orchestrationTrigger",
        "eventGridTrigger",
        "timerTrigger",
    } <= checked
