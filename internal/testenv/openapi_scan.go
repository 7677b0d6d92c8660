package testenv

import (
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// relaxScanPlanningUnions turns three oneOf unions of the spec into anyOf,
// because the spec's own valid values match more than one alternative:
//
//   - PrimitiveTypeValue: a JSON string is a StringTypeValue and also a
//     UUID, date, time, timestamp, decimal, fixed or binary value; an
//     integer is both an IntegerTypeValue and a LongTypeValue. No string or
//     integer matches exactly one, so every filter literal, partition value
//     and bound of scan planning would be rejected.
//   - PlanTableScanResult and FetchPlanningResult: {"status":"submitted",...}
//     matches both AsyncPlanningResult and EmptyPlanningResult (whose enum
//     holds "submitted"), so the answer the spec requires for an
//     asynchronous plan would be rejected.
//
// "Any of these forms" is what the spec means; a value must still match one.
//
// FailedPlanningResult is allOf IcebergErrorResponse and {status: failed},
// but IcebergErrorResponse forbids additional properties, so "status" can
// never be present and no failed plan could validate. The copy of
// IcebergErrorResponse used there allows them.
func relaxScanPlanningUnions(doc *openapi3.T) {
	if failed := doc.Components.Schemas["FailedPlanningResult"]; failed != nil && failed.Value != nil {
		for i, part := range failed.Value.AllOf {
			if strings.HasSuffix(part.Ref, "/IcebergErrorResponse") && part.Value != nil {
				open := *part.Value
				open.AdditionalProperties = openapi3.AdditionalProperties{}
				failed.Value.AllOf[i] = openapi3.NewSchemaRef("", &open)
			}
		}
	}
	for _, name := range []string{"PrimitiveTypeValue", "PlanTableScanResult", "FetchPlanningResult"} {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil || len(ref.Value.OneOf) == 0 {
			continue
		}
		ref.Value.AnyOf, ref.Value.OneOf = ref.Value.OneOf, nil
	}
}
