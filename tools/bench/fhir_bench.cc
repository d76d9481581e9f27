// HL7 v2 -> FHIR mapping + JSON of a typical ORU^R01 (15 OBX).
//   bazel build -c opt //tools/bench:fhir_bench
//   taskset -c 1 bazel-out/k8-opt/bin/tools/bench/fhir_bench
// Target (issue 5): >= 50,000 messages/s on one core (BM_MapOru15).
#include <memory>
#include <string>
#include <vector>

#include "appliance/fhir/datetime.h"
#include "appliance/fhir/mapper.h"
#include "appliance/fhir/uuid.h"
#include "appliance/hl7/message.h"
#include "benchmark/benchmark.h"

namespace {

// `variant` >= 0 makes every coded OBX-3 of the message distinct from those
// of other variants (its local code), for BM_MapOru15DistinctCodes.
std::string Oru15(int variant = -1) {
  const std::string local =
      variant < 0 ? std::string("L") : "L" + std::to_string(variant) + "-";
  std::string m =
      "MSH|^~\\&|COBAS|CHEMLAB|HL7APPLIANCE|GENHOSP|20261102081530+0100||"
      "ORU^R01^ORU_R01|CHEM000123|P|2.5.1|||AL|NE||UNICODE UTF-8\r"
      "PID|1||MRN1000001^^^GENHOSP^MR||TESTPATIENT^ALPHA^Q||19700412|F|||1 "
      "SYNTHETIC ROAD^^TESTTOWN^^00000^CH||^PRN^PH^^^^5550100\r"
      // Visit number in PV1-19 (an earlier version had it in PV1-18, so the
      // Bundle lacked its Encounter).
      "PV1|1|O|LAB^^^GENHOSP||||1234^DOCTOR^TEST||||||||||||V0000001^^^GENHOSP^"
      "VN\r"
      "ORC|RE|PLC0001^HIS|FIL0001^COBAS||CM\r"
      "OBR|1|PLC0001^HIS|FIL0001^COBAS|24323-8^Comprehensive metabolic "
      "panel^LN|||20261102073000+0100|||||||20261102074500+0100||1234^DOCTOR^"
      "TEST||||||20261102081500+0100|||F\r";
  const char* codes[] = {"2345-7", "2160-0", "2823-3",  "2951-2", "2075-0",
                         "2028-9", "3094-0", "17861-6", "2885-2", "1751-7",
                         "1975-2", "6768-6", "1742-6",  "1920-8"};
  for (int i = 0; i < 14; ++i) {
    m += "OBX|" + std::to_string(i + 1) + "|NM|" + codes[i] + "^Analyte^LN^" +
         local + std::to_string(i) + "^Analyte^L||5." + std::to_string(i) +
         "|mmol/L|3.9-6.1|N|||F|||20261102080000+0100\r";
  }
  m += "OBX|15|SN|1988-5^C reactive protein^LN^CRP^CRP^L||<^0.5|mg/L|<5|N|||F\r"
       "NTE|1|L|Sample slightly haemolysed\r"
       "SPM|1|SPC0001^COBAS||SER^Serum^HL70487|||||||||||||20261102073000+0100"
       "\r";
  return m;
}

// Patient, Encounter, ServiceRequest, Specimen, DiagnosticReport and 15
// Observations.
constexpr size_t kResourcesPerBundle = 20;

// The figure: mapping + compact JSON of one parsed message, one
// thread. items_per_second is messages/s. The MapResult is reused across
// messages, as the pipeline's mapping worker does.
void BM_MapOru15(benchmark::State& state) {
  const std::string text = Oru15();
  auto message = appliance::hl7::Message::Parse(text);
  appliance::fhir::MapperOptions options;
  options.site_time_zone = *appliance::fhir::LoadSiteTimeZone("Europe/Zurich");
  const appliance::fhir::Mapper mapper(
      options, std::make_shared<appliance::fhir::Terminology>());
  appliance::fhir::MapResult result;
  for (auto _ : state) {
    auto s = mapper.Map(*message, &result);
    benchmark::DoNotOptimize(result.bundle.data());
    if (!s.ok() || result.hold) state.SkipWithError("mapping failed");
  }
  if (result.entries.size() != kResourcesPerBundle) {
    state.SkipWithError("unexpected number of resources in the Bundle");
  }
  state.counters["resources"] = static_cast<double>(result.entries.size());
  state.counters["json_bytes"] = static_cast<double>(result.bundle.size());
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(result.bundle.size()));
}
BENCHMARK(BM_MapOru15);

// The same message in 512 variants, round robin, whose coded OBX-3 fields
// all differ (7 168 distinct fields: more than the concept cache keeps, and
// each comes back only after the cache has been emptied), so every
// Observation code is rendered afresh — the worst case of the cache
// (fhir/concept_cache.h), which BM_MapOru15 (one message, as a lab repeats
// its codes) always hits after the first iteration. 512 messages also keep
// the working set small enough that memory misses do not dominate.
void BM_MapOru15DistinctCodes(benchmark::State& state) {
  constexpr int kVariants = 512;
  std::vector<std::string> texts;
  std::vector<std::unique_ptr<appliance::hl7::Message>> messages;
  for (int v = 0; v < kVariants; ++v) {
    texts.push_back(Oru15(v));
    auto parsed = appliance::hl7::Message::Parse(texts.back());
    if (!parsed.ok()) {
      state.SkipWithError("parse failed");
      return;
    }
    messages.push_back(
        std::make_unique<appliance::hl7::Message>(std::move(*parsed)));
  }
  appliance::fhir::MapperOptions options;
  options.site_time_zone = *appliance::fhir::LoadSiteTimeZone("Europe/Zurich");
  const appliance::fhir::Mapper mapper(
      options, std::make_shared<appliance::fhir::Terminology>());
  appliance::fhir::MapResult result;
  size_t next = 0;
  for (auto _ : state) {
    auto s = mapper.Map(*messages[next], &result);
    next = (next + 1) % messages.size();
    benchmark::DoNotOptimize(result.bundle.data());
    if (!s.ok() || result.hold) state.SkipWithError("mapping failed");
  }
  if (result.entries.size() != kResourcesPerBundle) {
    state.SkipWithError("unexpected number of resources in the Bundle");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MapOru15DistinctCodes);

// Parse + map, as the pipeline worker does it.
void BM_ParseAndMapOru15(benchmark::State& state) {
  const std::string text = Oru15();
  appliance::fhir::MapperOptions options;
  options.site_time_zone = *appliance::fhir::LoadSiteTimeZone("Europe/Zurich");
  const appliance::fhir::Mapper mapper(
      options, std::make_shared<appliance::fhir::Terminology>());
  appliance::hl7::Message message;
  appliance::fhir::MapResult result;
  for (auto _ : state) {
    if (!message.ParseInto(text).ok()) state.SkipWithError("parse failed");
    auto s = mapper.Map(message, &result);
    benchmark::DoNotOptimize(result.bundle.data());
    if (!s.ok()) state.SkipWithError("mapping failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAndMapOru15);

void BM_Uuid5(benchmark::State& state) {
  for (auto _ : state) {
    auto u = appliance::fhir::Uuid5(appliance::fhir::kFhirIdNamespace,
                                    "Observation|F|COBAS|FIL0001|LN|24323-8");
    benchmark::DoNotOptimize(u);
  }
}
BENCHMARK(BM_Uuid5);

void BM_DateTime(benchmark::State& state) {
  const absl::TimeZone tz = *appliance::fhir::LoadSiteTimeZone("Europe/Zurich");
  for (auto _ : state) {
    auto d = appliance::fhir::ToFhirDateTime("20261102080000", tz);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_DateTime);

}  // namespace

BENCHMARK_MAIN();
