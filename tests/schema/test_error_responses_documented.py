"""The OpenAPI schema documents the error answers of every operation, in the house shape."""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator

ERROR_REF = "#/components/schemas/Error"


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_documents_its_error_answers():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"error"}
    operations = list(_operations(schema))
    assert len(operations) > 50
    for path, method, operation in operations:
        expected = {"400", "404", "429"}
        if operation.get("security") != [{}]:
            expected |= {"401", "403"}
        if method in {"post", "put", "patch", "delete"}:
            expected |= {"409", "413"}
        responses = operation["responses"]
        assert expected <= set(responses), (method, path, sorted(responses))
        for code in expected:
            assert responses[code]["content"]["application/json"]["schema"]["$ref"] == ERROR_REF, (method, path)
        assert "Retry-After" in responses["429"]["headers"]


def test_unauthenticated_operations_document_no_auth_failures():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    enroll = schema["paths"]["/api/v1/devices/enroll/"]["post"]
    assert "401" not in enroll["responses"] and "400" in enroll["responses"]
    sites = schema["paths"]["/api/v1/sites/{public_id}/"]["delete"]
    assert {"401", "403", "404", "409"} <= set(sites["responses"])
