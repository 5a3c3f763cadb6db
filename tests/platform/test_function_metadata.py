"""What the Functions worker checks when it loads the app, checked here with the
library's own converters: a parameter bound to a Durable client must be annotated
with a type the binding accepts (the worker refuses to load the function otherwise)."""

import inspect
import typing

from azure.functions.durable_functions import DurableClientConverter

from tests.support import function_host


def test_every_durable_client_parameter_has_a_type_the_worker_accepts():
    checked = 0
    for name, function in function_host().functions.items():
        for binding in function.get_bindings_dict()["bindings"]:
            if binding["type"] != "durableClient":
                continue
            user_function = inspect.unwrap(function.get_user_function())
            annotation = typing.get_type_hints(user_function).get(binding["name"])
            assert annotation is not None and isinstance(annotation, type), (name, annotation)
            assert DurableClientConverter.check_input_type_annotation(annotation), (name, annotation)
            checked += 1
    assert checked >= 4  # score, its status route, the webhook, the Event Grid trigger, the former names
