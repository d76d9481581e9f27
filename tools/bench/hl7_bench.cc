// HL7 engine benchmarks: parse + validate + ACK of a typical ~2 KB ORU^R01.
//   bazel run -c opt //tools/bench:hl7_bench
// Results and the machine they were taken on: BENCHMARKS.md.
#include <string>

#include "appliance/hl7/engine.h"
#include "appliance/hl7/escape.h"
#include "benchmark/benchmark.h"

namespace {

using namespace appliance::hl7;  // NOLINT: benchmark.

// A chemistry panel as a cobas-style analyzer sends it: ~2 KB, 15 OBX.
std::string TypicalOru() {
  std::string m =
      "MSH|^~\\&|COBAS|CHEMLAB|HL7APPLIANCE|GENHOSP|20261102081530+0100||"
      "ORU^R01^ORU_R01|CHEM000123|P|2.5.1|||AL|NE||UNICODE UTF-8\r"
      "PID|1||MRN1000001^^^GENHOSP^MR~9990001^^^NATIONAL^NI||TESTPATIENT^ALPHA^"
      "Q"
      "||19700412|F|||1 SYNTHETIC "
      "ROAD^^TESTTOWN^^00000^CH||^PRN^PH^^^^5550100\r"
      "PV1|1|O|LAB^^^GENHOSP||||1234^DOCTOR^TEST|||||||||||V0000001^^^GENHOSP^"
      "VN\r"
      "ORC|RE|PLC0001^HIS|FIL0001^COBAS||CM\r"
      "OBR|1|PLC0001^HIS|FIL0001^COBAS|24323-8^Comprehensive metabolic panel^LN"
      "|||20261102073000+0100|||||||20261102074500+0100||1234^DOCTOR^TEST||||||"
      "20261102081500+0100|||F\r";
  const char* tests[][4] = {
      {"2345-7", "Glucose", "5.4", "mmol/L"},
      {"2160-0", "Creatinine", "065.88", "umol/L"},
      {"2823-3", "Potassium", "4.2", "mmol/L"},
      {"2951-2", "Sodium", "140", "mmol/L"},
      {"2075-0", "Chloride", "101", "mmol/L"},
      {"1963-8", "Bicarbonate", "24", "mmol/L"},
      {"3094-0", "Urea nitrogen", "5.1", "mmol/L"},
      {"17861-6", "Calcium", "2.35", "mmol/L"},
      {"2885-2", "Protein", "72", "g/L"},
      {"1751-7", "Albumin", "44", "g/L"},
      {"1975-2", "Bilirubin total", "12", "umol/L"},
      {"6768-6", "Alkaline phosphatase", "85", "U/L"},
      {"1742-6", "ALT", "25", "U/L"},
      {"1920-8", "AST", "22", "U/L"},
      {"2532-0", "LDH", "180", "U/L"},
  };
  int i = 1;
  for (auto& t : tests) {
    m += "OBX|" + std::to_string(i++) + "|NM|" + t[0] + "^" + t[1] + "^LN^L" +
         t[0] + "^" + t[1] + "^L||" + t[2] + "|" + t[3] +
         "|1.0-99.0|N|||F|||20261102080000+0100||||COBAS8000^Roche\r";
  }
  m += "NTE|1|L|Sample slightly haemolysed\r"
       "SPM|1|SPC0001^COBAS||SER^Serum^HL70487|||||||||||||20261102073000+"
       "0100\r";
  return m;
}

void BM_ParseValidateAck(benchmark::State& state) {
  const std::string msg = TypicalOru();
  Engine engine;
  Outcome out;
  AckOptions options;
  options.control_id = "ACK000000001";
  options.timestamp = "20261102081531+0000";
  for (auto _ : state) {
    engine.Process(msg, options, &out);
    benchmark::DoNotOptimize(out.ack.text.data());
  }
  if (out.ack.code != AckCode::kAccept) state.SkipWithError("not accepted");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * msg.size());
  state.counters["msg_bytes"] = msg.size();
}
BENCHMARK(BM_ParseValidateAck);

void BM_ParseOnly(benchmark::State& state) {
  const std::string msg = TypicalOru();
  Message m;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.ParseInto(msg).ok());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * msg.size());
}
BENCHMARK(BM_ParseOnly);

// Structure and field validation of an already parsed message.
void BM_ValidateOnly(benchmark::State& state) {
  const std::string msg = TypicalOru();
  Message m;
  if (!m.ParseInto(msg).ok()) {
    state.SkipWithError("parse failed");
    return;
  }
  ValidationResult result;
  for (auto _ : state) {
    ValidateInto(m, &result);
    benchmark::DoNotOptimize(result.findings.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValidateOnly);

void BM_Unescape(benchmark::State& state) {
  const std::string text =
      "Line one\\.br\\Line two with \\F\\ pipe, \\S\\ caret and \\X4F4B\\ hex";
  const Delimiters d;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Unescape(text, d, Charset::kUtf8));
  }
  state.SetBytesProcessed(state.iterations() * text.size());
}
BENCHMARK(BM_Unescape);

}  // namespace

BENCHMARK_MAIN();
