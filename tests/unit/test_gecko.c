/* test_gecko.c - the --gecko stream against Tachyon's GeckoCollector.
 *
 * The expected outputs were written by CPython 3.15.2's
 * profiling.sampling.gecko_collector.GeckoCollector fed the same samples
 * (tests/unit/gen_gecko_expected.py, which spells them the same way), with
 * startTime, the CPU counts and the pid set to 0, as check_output() does
 * here.  The small case covers every marker kind, empty and internal-only
 * stacks, <GC>/<native>, Python vs native files, lines 0 and none, columns,
 * escapes, non-ASCII, an encoded lone surrogate and a non-BMP character, and with
 * --opcodes plain, specialized and unknown opcodes; the big case spills
 * many chunks per thread and is compared by length and FNV-1a.
 */
#include "harness.h"

#include "base/buf.h"
#include "base/error.h"
#include "base/intern.h"
#include "model/profile.h"
#include "model/sample.h"
#include "format/out.h"
#include "py/opcodes.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char exp_small[] =
	"{\"meta\":{\"interval\":0.5857142857142856,\"startTime\":0,\"abi\":\"x86_64\",\"misc\":\"Python profile"
	"r\",\"oscpu\":\"x86_64\",\"platform\":\"Linux\",\"processType\":0,\"categories\":[{\"name\":\"Other\",\"colo"
	"r\":\"grey\",\"subcategories\":[\"Other\"]},{\"name\":\"Python\",\"color\":\"yellow\",\"subcategories\":[\"O"
	"ther\"]},{\"name\":\"Native\",\"color\":\"blue\",\"subcategories\":[\"Other\"]},{\"name\":\"GC\",\"color\":\"o"
	"range\",\"subcategories\":[\"Other\"]},{\"name\":\"GIL\",\"color\":\"green\",\"subcategories\":[\"Other\"]}"
	",{\"name\":\"CPU\",\"color\":\"purple\",\"subcategories\":[\"Other\"]},{\"name\":\"Code Type\",\"color\":\"re"
	"d\",\"subcategories\":[\"Other\"]},{\"name\":\"Opcodes\",\"color\":\"magenta\",\"subcategories\":[\"Other\""
	"]},{\"name\":\"Exception\",\"color\":\"lightblue\",\"subcategories\":[\"Other\"]}],\"stackwalk\":0,\"tool"
	"kit\":\"\",\"version\":32,\"preprocessedProfileVersion\":57,\"appBuildID\":\"\",\"physicalCPUs\":0,\"log"
	"icalCPUs\":0,\"CPUName\":\"\",\"product\":\"Python\",\"symbolicated\":true,\"markerSchema\":[],\"importe"
	"dFrom\":\"Tachyon Sampling Profiler\",\"extensions\":{\"id\":[],\"name\":[],\"baseURL\":[],\"length\":0"
	"}},\"libs\":[],\"threads\":[{\"name\":\"Thread-100\",\"isMainThread\":true,\"processStartupTime\":0,\"p"
	"rocessShutdownTime\":null,\"registerTime\":0,\"unregisterTime\":null,\"pausedRanges\":[],\"pid\":\"0"
	"\",\"tid\":100,\"processType\":\"default\",\"processName\":\"Python Process\",\"samples\":{\"stack\":[1,3"
	",4,1,5,5,5],\"time\":[0.0,0.333,0.667,1.001,2.0,2.5,4.1],\"eventDelay\":[null,null,null,null,n"
	"ull,null,null],\"weight\":null,\"weightType\":\"samples\",\"length\":7},\"stackTable\":{\"frame\":[0,1"
	",2,3,4,5],\"category\":[1,1,1,1,1,1],\"subcategory\":[0,0,0,0,0,0],\"prefix\":[null,0,0,2,0,0],\""
	"length\":6},\"frameTable\":{\"address\":[-1,-1,-1,-1,-1,-1],\"category\":[1,1,1,1,1,1],\"subcatego"
	"ry\":[0,0,0,0,0,0],\"func\":[0,1,1,2,3,4],\"innerWindowID\":[null,null,null,null,null,null],\"im"
	"plementation\":[null,null,null,null,null,null],\"optimizations\":[null,null,null,null,null,nu"
	"ll],\"line\":[20,10,11,null,3,12],\"column\":[4,4,8,null,2,0],\"inlineDepth\":[0,0,0,0,0,0],\"nat"
	"iveSymbol\":[null,null,null,null,null,null],\"length\":6},\"funcTable\":{\"name\":[1,3,6,17,25],\""
	"isJS\":[true,true,true,true,true],\"relevantForJS\":[true,true,true,true,true],\"resource\":[0,"
	"0,1,2,0],\"fileName\":[2,2,7,18,2],\"lineNumber\":[20,10,null,3,12],\"columnNumber\":[null,null,"
	"null,null,null],\"length\":5},\"resourceTable\":{\"lib\":[null,null,null],\"name\":[2,7,18],\"host\""
	":[null,null,null],\"type\":[1,1,1],\"length\":3},\"nativeSymbols\":{\"libIndex\":[],\"address\":[],\""
	"name\":[],\"functionSize\":[],\"length\":0},\"markers\":{\"data\":[{\"type\":\"HasGIL\",\"duration\":0.33"
	"3,\"tid\":100},{\"type\":\"PythonCode\",\"duration\":0.333,\"tid\":100},{\"type\":\"OnCPU\",\"duration\":0"
	".667,\"tid\":100},{\"type\":\"NativeCode\",\"duration\":0.334,\"tid\":100},{\"type\":\"WaitingforGIL\",\""
	"duration\":0.334,\"tid\":100},{\"type\":\"GCCollecting\",\"duration\":0.334,\"tid\":100},{\"type\":\"NoG"
	"IL\",\"duration\":0.6679999999999999,\"tid\":100},{\"type\":\"OffCPU\",\"duration\":0.333999999999999"
	"85,\"tid\":100},{\"type\":\"HasGIL\",\"duration\":3.0989999999999998,\"tid\":100},{\"type\":\"OnCPU\",\"d"
	"uration\":3.0989999999999998,\"tid\":100},{\"type\":\"PythonCode\",\"duration\":3.0989999999999998,"
	"\"tid\":100},{\"type\":\"NoGIL\",\"duration\":0.0,\"tid\":100},{\"type\":\"OffCPU\",\"duration\":0.0,\"tid\""
	":100},{\"type\":\"NoException\",\"duration\":4.1,\"tid\":100}],\"name\":[4,5,13,14,15,16,8,9,4,13,5,"
	"8,9,10],\"startTime\":[0.0,0.0,0.0,0.333,0.333,0.333,0.333,0.667,1.001,1.001,1.001,4.1,4.1,0"
	".0],\"endTime\":[0.333,0.333,0.667,0.667,0.667,0.667,1.001,1.001,4.1,4.1,4.1,4.1,4.1,4.1],\"p"
	"hase\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1],\"category\":[4,6,5,6,4,3,4,5,4,5,6,4,5,8],\"length\":14}}"
	",{\"name\":\"Thread-200\",\"isMainThread\":false,\"processStartupTime\":0,\"processShutdownTime\":nu"
	"ll,\"registerTime\":0,\"unregisterTime\":null,\"pausedRanges\":[],\"pid\":\"0\",\"tid\":200,\"processTy"
	"pe\":\"default\",\"processName\":\"Python Process\",\"samples\":{\"stack\":[0,1,3,4,6],\"time\":[0.333,"
	"0.667,1.001,2.0,2.5],\"eventDelay\":[null,null,null,null,null],\"weight\":null,\"weightType\":\"s"
	"amples\",\"length\":5},\"stackTable\":{\"frame\":[0,1,2,3,4,5,6],\"category\":[1,2,1,1,1,1,1],\"subc"
	"ategory\":[0,0,0,0,0,0,0],\"prefix\":[null,null,null,2,2,2,5],\"length\":7},\"frameTable\":{\"addr"
	"ess\":[-1,-1,-1,-1,-1,-1,-1],\"category\":[1,2,1,1,1,1,1],\"subcategory\":[0,0,0,0,0,0,0],\"func"
	"\":[0,1,2,3,4,4,5],\"innerWindowID\":[null,null,null,null,null,null,null],\"implementation\":[n"
	"ull,null,null,null,null,null,null],\"optimizations\":[null,null,null,null,null,null,null],\"l"
	"ine\":[1,null,7,5,30,31,null],\"column\":[0,null,0,1,2,2,null],\"inlineDepth\":[0,0,0,0,0,0,0],"
	"\"nativeSymbol\":[null,null,null,null,null,null,null],\"length\":7},\"funcTable\":{\"name\":[11,20"
	",11,23,26,28],\"isJS\":[true,false,true,true,true,true],\"relevantForJS\":[true,false,true,tru"
	"e,true,true],\"resource\":[0,1,2,3,4,5],\"fileName\":[12,null,22,24,27,7],\"lineNumber\":[1,null"
	",7,5,30,null],\"columnNumber\":[null,null,null,null,null,null],\"length\":6},\"resourceTable\":{"
	"\"lib\":[null,null,null,null,null,null],\"name\":[12,21,22,24,27,7],\"host\":[null,null,null,nul"
	"l,null,null],\"type\":[1,1,1,1,1,1],\"length\":6},\"nativeSymbols\":{\"libIndex\":[],\"address\":[],"
	"\"name\":[],\"functionSize\":[],\"length\":0},\"markers\":{\"data\":[{\"type\":\"NoGIL\",\"duration\":0.33"
	"3,\"tid\":200},{\"type\":\"OffCPU\",\"duration\":0.333,\"tid\":200},{\"type\":\"NoException\",\"duration\""
	":0.333,\"tid\":200},{\"type\":\"OnCPU\",\"duration\":0.334,\"tid\":200},{\"type\":\"HasException\",\"dura"
	"tion\":0.334,\"tid\":200},{\"type\":\"HasGIL\",\"duration\":0.6679999999999999,\"tid\":200},{\"type\":\""
	"OffCPU\",\"duration\":0.33399999999999985,\"tid\":200},{\"type\":\"PythonCode\",\"duration\":0.667999"
	"9999999999,\"tid\":200},{\"type\":\"NoGIL\",\"duration\":0.9990000000000001,\"tid\":200},{\"type\":\"On"
	"CPU\",\"duration\":0.9990000000000001,\"tid\":200},{\"type\":\"NativeCode\",\"duration\":0.9990000000"
	"000001,\"tid\":200},{\"type\":\"NoException\",\"duration\":1.333,\"tid\":200},{\"type\":\"HasGIL\",\"dura"
	"tion\":0.5,\"tid\":200},{\"type\":\"PythonCode\",\"duration\":0.5,\"tid\":200},{\"type\":\"HasException\""
	",\"duration\":0.5,\"tid\":200},{\"type\":\"NoGIL\",\"duration\":1.5999999999999996,\"tid\":200},{\"type"
	"\":\"OffCPU\",\"duration\":2.0999999999999996,\"tid\":200},{\"type\":\"WaitingforGIL\",\"duration\":1.5"
	"999999999999996,\"tid\":200},{\"type\":\"NoException\",\"duration\":1.5999999999999996,\"tid\":200}]"
	",\"name\":[8,9,10,13,19,4,9,5,8,13,14,10,4,5,19,8,9,15,10],\"startTime\":[0.0,0.0,0.0,0.333,0."
	"333,0.333,0.667,0.333,1.001,1.001,1.001,0.667,2.0,2.0,2.0,2.5,2.0,2.5,2.5],\"endTime\":[0.33"
	"3,0.333,0.333,0.667,0.667,1.001,1.001,1.001,2.0,2.0,2.0,2.0,2.5,2.5,2.5,4.1,4.1,4.1,4.1],\""
	"phase\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],\"category\":[4,5,8,5,8,4,5,6,4,5,6,8,4,6,8,4"
	",5,4,8],\"length\":19}},{\"name\":\"Thread-300\",\"isMainThread\":false,\"processStartupTime\":0,\"pr"
	"ocessShutdownTime\":null,\"registerTime\":0,\"unregisterTime\":null,\"pausedRanges\":[],\"pid\":\"0\""
	",\"tid\":300,\"processType\":\"default\",\"processName\":\"Python Process\",\"samples\":{\"stack\":[0],\""
	"time\":[4.1],\"eventDelay\":[null],\"weight\":null,\"weightType\":\"samples\",\"length\":1},\"stackTab"
	"le\":{\"frame\":[0],\"category\":[1],\"subcategory\":[0],\"prefix\":[null],\"length\":1},\"frameTable\""
	":{\"address\":[-1],\"category\":[1],\"subcategory\":[0],\"func\":[0],\"innerWindowID\":[null],\"imple"
	"mentation\":[null],\"optimizations\":[null],\"line\":[1],\"column\":[null],\"inlineDepth\":[0],\"nat"
	"iveSymbol\":[null],\"length\":1},\"funcTable\":{\"name\":[29],\"isJS\":[true],\"relevantForJS\":[true"
	"],\"resource\":[0],\"fileName\":[30],\"lineNumber\":[1],\"columnNumber\":[null],\"length\":1},\"resou"
	"rceTable\":{\"lib\":[null],\"name\":[30],\"host\":[null],\"type\":[1],\"length\":1},\"nativeSymbols\":{"
	"\"libIndex\":[],\"address\":[],\"name\":[],\"functionSize\":[],\"length\":0},\"markers\":{\"data\":[{\"ty"
	"pe\":\"NoGIL\",\"duration\":0.0,\"tid\":300},{\"type\":\"OnCPU\",\"duration\":0.0,\"tid\":300},{\"type\":\"N"
	"ativeCode\",\"duration\":0.0,\"tid\":300},{\"type\":\"NoException\",\"duration\":0.0,\"tid\":300}],\"nam"
	"e\":[8,13,14,10],\"startTime\":[4.1,4.1,4.1,4.1],\"endTime\":[4.1,4.1,4.1,4.1],\"phase\":[1,1,1,1"
	"],\"category\":[4,5,6,8],\"length\":4}}],\"pages\":[],\"shared\":{\"stringArray\":[\"(root)\",\"main\",\""
	"x.py\",\"f\",\"Has GIL\",\"Python Code\",\"<GC>\",\"~\",\"No GIL\",\"Off CPU\",\"No Exception\",\"<module>\","
	"\"<string>\",\"On CPU\",\"Native Code\",\"Waiting for GIL\",\"GC Collecting\",\"caf\\u00e9.\\u03bb\",\"\\u"
	"00fcn\\u00ef.py\",\"Has Exception\",\"_find_and_load\",\"<frozen importlib._bootstrap>\",\"<stdin>\""
	",\"k\\tx\\u0001\\u007f\",\"q\\\"uo\\\\te.py\",\"bad\\ufffd\\ufffd\\ufffd\",\"g\\ud83d\\ude00\",\"y.py\",\"<native>\",\"z\",\"z.py"
	"\"],\"sources\":{\"length\":0,\"uuid\":[],\"filename\":[]}}}"
	;
static const char exp_small_ops[] =
	"{\"meta\":{\"interval\":0.5857142857142856,\"startTime\":0,\"abi\":\"x86_64\",\"misc\":\"Python profile"
	"r\",\"oscpu\":\"x86_64\",\"platform\":\"Linux\",\"processType\":0,\"categories\":[{\"name\":\"Other\",\"colo"
	"r\":\"grey\",\"subcategories\":[\"Other\"]},{\"name\":\"Python\",\"color\":\"yellow\",\"subcategories\":[\"O"
	"ther\"]},{\"name\":\"Native\",\"color\":\"blue\",\"subcategories\":[\"Other\"]},{\"name\":\"GC\",\"color\":\"o"
	"range\",\"subcategories\":[\"Other\"]},{\"name\":\"GIL\",\"color\":\"green\",\"subcategories\":[\"Other\"]}"
	",{\"name\":\"CPU\",\"color\":\"purple\",\"subcategories\":[\"Other\"]},{\"name\":\"Code Type\",\"color\":\"re"
	"d\",\"subcategories\":[\"Other\"]},{\"name\":\"Opcodes\",\"color\":\"magenta\",\"subcategories\":[\"Other\""
	"]},{\"name\":\"Exception\",\"color\":\"lightblue\",\"subcategories\":[\"Other\"]}],\"stackwalk\":0,\"tool"
	"kit\":\"\",\"version\":32,\"preprocessedProfileVersion\":57,\"appBuildID\":\"\",\"physicalCPUs\":0,\"log"
	"icalCPUs\":0,\"CPUName\":\"\",\"product\":\"Python\",\"symbolicated\":true,\"markerSchema\":[{\"name\":\"O"
	"pcode\",\"display\":[\"marker-table\",\"marker-chart\"],\"tooltipLabel\":\"{marker.data.opname}\",\"ta"
	"bleLabel\":\"{marker.data.opname} at line {marker.data.line}\",\"chartLabel\":\"{marker.data.opn"
	"ame}\",\"fields\":[{\"key\":\"opname\",\"label\":\"Opcode\",\"format\":\"string\",\"searchable\":true},{\"ke"
	"y\":\"base_opname\",\"label\":\"Base Opcode\",\"format\":\"string\"},{\"key\":\"is_specialized\",\"label\":"
	"\"Specialized\",\"format\":\"string\"},{\"key\":\"line\",\"label\":\"Line\",\"format\":\"integer\"},{\"key\":\""
	"column\",\"label\":\"Column\",\"format\":\"integer\"},{\"key\":\"function\",\"label\":\"Function\",\"format\""
	":\"string\"},{\"key\":\"duration\",\"label\":\"Duration\",\"format\":\"duration\"}]}],\"importedFrom\":\"Ta"
	"chyon Sampling Profiler\",\"extensions\":{\"id\":[],\"name\":[],\"baseURL\":[],\"length\":0}},\"libs\":"
	"[],\"threads\":[{\"name\":\"Thread-100\",\"isMainThread\":true,\"processStartupTime\":0,\"processShut"
	"downTime\":null,\"registerTime\":0,\"unregisterTime\":null,\"pausedRanges\":[],\"pid\":\"0\",\"tid\":10"
	"0,\"processType\":\"default\",\"processName\":\"Python Process\",\"samples\":{\"stack\":[1,3,4,1,5,5,5"
	"],\"time\":[0.0,0.333,0.667,1.001,2.0,2.5,4.1],\"eventDelay\":[null,null,null,null,null,null,n"
	"ull],\"weight\":null,\"weightType\":\"samples\",\"length\":7},\"stackTable\":{\"frame\":[0,1,2,3,4,5],"
	"\"category\":[1,1,1,1,1,1],\"subcategory\":[0,0,0,0,0,0],\"prefix\":[null,0,0,2,0,0],\"length\":6}"
	",\"frameTable\":{\"address\":[-1,-1,-1,-1,-1,-1],\"category\":[1,1,1,1,1,1],\"subcategory\":[0,0,0"
	",0,0,0],\"func\":[0,1,1,2,3,4],\"innerWindowID\":[null,null,null,null,null,null],\"implementati"
	"on\":[null,null,null,null,null,null],\"optimizations\":[null,null,null,null,null,null],\"line\""
	":[20,10,11,null,3,12],\"column\":[4,4,8,null,2,0],\"inlineDepth\":[0,0,0,0,0,0],\"nativeSymbol\""
	":[null,null,null,null,null,null],\"length\":6},\"funcTable\":{\"name\":[1,3,6,18,29],\"isJS\":[tru"
	"e,true,true,true,true],\"relevantForJS\":[true,true,true,true,true],\"resource\":[0,0,1,2,0],\""
	"fileName\":[2,2,7,19,2],\"lineNumber\":[20,10,null,3,12],\"columnNumber\":[null,null,null,null,"
	"null],\"length\":5},\"resourceTable\":{\"lib\":[null,null,null],\"name\":[2,7,19],\"host\":[null,nul"
	"l,null],\"type\":[1,1,1],\"length\":3},\"nativeSymbols\":{\"libIndex\":[],\"address\":[],\"name\":[],\""
	"functionSize\":[],\"length\":0},\"markers\":{\"data\":[{\"type\":\"HasGIL\",\"duration\":0.333,\"tid\":10"
	"0},{\"type\":\"PythonCode\",\"duration\":0.333,\"tid\":100},{\"type\":\"Opcode\",\"opcode\":186,\"opname\""
	":\"LOAD_ATTR_INSTANCE_VALUE (LOAD_ATTR)\",\"base_opname\":\"LOAD_ATTR\",\"is_specialized\":true,\"l"
	"ine\":10,\"column\":4,\"function\":\"f\",\"duration\":0.333},{\"type\":\"OnCPU\",\"duration\":0.667,\"tid\""
	":100},{\"type\":\"NativeCode\",\"duration\":0.334,\"tid\":100},{\"type\":\"WaitingforGIL\",\"duration\":"
	"0.334,\"tid\":100},{\"type\":\"GCCollecting\",\"duration\":0.334,\"tid\":100},{\"type\":\"NoGIL\",\"durat"
	"ion\":0.6679999999999999,\"tid\":100},{\"type\":\"OffCPU\",\"duration\":0.33399999999999985,\"tid\":1"
	"00},{\"type\":\"Opcode\",\"opcode\":130,\"opname\":\"BINARY_OP_ADD_INT (BINARY_OP)\",\"base_opname\":\""
	"BINARY_OP\",\"is_specialized\":true,\"line\":3,\"column\":2,\"function\":\"caf\\u00e9.\\u03bb\",\"durati"
	"on\":0.33399999999999985},{\"type\":\"Opcode\",\"opcode\":79,\"opname\":\"LOAD_ATTR\",\"base_opname\":\""
	"LOAD_ATTR\",\"is_specialized\":false,\"line\":10,\"column\":4,\"function\":\"f\",\"duration\":0.9990000"
	"000000001},{\"type\":\"HasGIL\",\"duration\":3.0989999999999998,\"tid\":100},{\"type\":\"OnCPU\",\"dura"
	"tion\":3.0989999999999998,\"tid\":100},{\"type\":\"PythonCode\",\"duration\":3.0989999999999998,\"ti"
	"d\":100},{\"type\":\"NoGIL\",\"duration\":0.0,\"tid\":100},{\"type\":\"OffCPU\",\"duration\":0.0,\"tid\":10"
	"0},{\"type\":\"NoException\",\"duration\":4.1,\"tid\":100},{\"type\":\"Opcode\",\"opcode\":79,\"opname\":\""
	"LOAD_ATTR\",\"base_opname\":\"LOAD_ATTR\",\"is_specialized\":false,\"line\":12,\"column\":0,\"function"
	"\":\"bad\\ufffd\\ufffd\\ufffd\",\"duration\":2.0999999999999996}],\"name\":[4,5,8,14,15,16,17,9,10,24,30,4,14,5,"
	"9,10,11,30],\"startTime\":[0.0,0.0,0.0,0.0,0.333,0.333,0.333,0.333,0.667,0.667,1.001,1.001,1"
	".001,1.001,4.1,4.1,0.0,2.0],\"endTime\":[0.333,0.333,0.333,0.667,0.667,0.667,0.667,1.001,1.0"
	"01,1.001,2.0,4.1,4.1,4.1,4.1,4.1,4.1,4.1],\"phase\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],\"c"
	"ategory\":[4,6,7,5,6,4,3,4,5,7,7,4,5,6,4,5,8,7],\"length\":18}},{\"name\":\"Thread-200\",\"isMainT"
	"hread\":false,\"processStartupTime\":0,\"processShutdownTime\":null,\"registerTime\":0,\"unregiste"
	"rTime\":null,\"pausedRanges\":[],\"pid\":\"0\",\"tid\":200,\"processType\":\"default\",\"processName\":\"P"
	"ython Process\",\"samples\":{\"stack\":[0,1,3,4,6],\"time\":[0.333,0.667,1.001,2.0,2.5],\"eventDel"
	"ay\":[null,null,null,null,null],\"weight\":null,\"weightType\":\"samples\",\"length\":5},\"stackTabl"
	"e\":{\"frame\":[0,1,2,3,4,5,6],\"category\":[1,2,1,1,1,1,1],\"subcategory\":[0,0,0,0,0,0,0],\"pref"
	"ix\":[null,null,null,2,2,2,5],\"length\":7},\"frameTable\":{\"address\":[-1,-1,-1,-1,-1,-1,-1],\"c"
	"ategory\":[1,2,1,1,1,1,1],\"subcategory\":[0,0,0,0,0,0,0],\"func\":[0,1,2,3,4,4,5],\"innerWindow"
	"ID\":[null,null,null,null,null,null,null],\"implementation\":[null,null,null,null,null,null,n"
	"ull],\"optimizations\":[null,null,null,null,null,null,null],\"line\":[1,null,7,5,30,31,null],\""
	"column\":[0,null,0,1,2,2,null],\"inlineDepth\":[0,0,0,0,0,0,0],\"nativeSymbol\":[null,null,null"
	",null,null,null,null],\"length\":7},\"funcTable\":{\"name\":[12,21,12,26,31,33],\"isJS\":[true,fal"
	"se,true,true,true,true],\"relevantForJS\":[true,false,true,true,true,true],\"resource\":[0,1,2"
	",3,4,5],\"fileName\":[13,null,25,27,32,7],\"lineNumber\":[1,null,7,5,30,null],\"columnNumber\":["
	"null,null,null,null,null,null],\"length\":6},\"resourceTable\":{\"lib\":[null,null,null,null,nul"
	"l,null],\"name\":[13,22,25,27,32,7],\"host\":[null,null,null,null,null,null],\"type\":[1,1,1,1,1"
	",1],\"length\":6},\"nativeSymbols\":{\"libIndex\":[],\"address\":[],\"name\":[],\"functionSize\":[],\"l"
	"ength\":0},\"markers\":{\"data\":[{\"type\":\"NoGIL\",\"duration\":0.333,\"tid\":200},{\"type\":\"OffCPU\","
	"\"duration\":0.333,\"tid\":200},{\"type\":\"NoException\",\"duration\":0.333,\"tid\":200},{\"type\":\"OnC"
	"PU\",\"duration\":0.334,\"tid\":200},{\"type\":\"HasException\",\"duration\":0.334,\"tid\":200},{\"type\""
	":\"Opcode\",\"opcode\":42,\"opname\":\"BINARY_OP\",\"base_opname\":\"BINARY_OP\",\"is_specialized\":fals"
	"e,\"line\":1,\"column\":0,\"function\":\"<module>\",\"duration\":0.334},{\"type\":\"HasGIL\",\"duration\":"
	"0.6679999999999999,\"tid\":200},{\"type\":\"OffCPU\",\"duration\":0.33399999999999985,\"tid\":200},{"
	"\"type\":\"PythonCode\",\"duration\":0.6679999999999999,\"tid\":200},{\"type\":\"Opcode\",\"opcode\":233"
	",\"opname\":\"INSTRUMENTED_END_FOR\",\"base_opname\":\"INSTRUMENTED_END_FOR\",\"is_specialized\":fal"
	"se,\"line\":0,\"column\":null,\"function\":\"_find_and_load\",\"duration\":0.33399999999999985},{\"ty"
	"pe\":\"NoGIL\",\"duration\":0.9990000000000001,\"tid\":200},{\"type\":\"OnCPU\",\"duration\":0.99900000"
	"00000001,\"tid\":200},{\"type\":\"NativeCode\",\"duration\":0.9990000000000001,\"tid\":200},{\"type\":"
	"\"NoException\",\"duration\":1.333,\"tid\":200},{\"type\":\"Opcode\",\"opcode\":42,\"opname\":\"BINARY_OP"
	"\",\"base_opname\":\"BINARY_OP\",\"is_specialized\":false,\"line\":5,\"column\":1,\"function\":\"k\\tx\\u0"
	"001\\u007f\",\"duration\":0.9990000000000001},{\"type\":\"HasGIL\",\"duration\":0.5,\"tid\":200},{\"typ"
	"e\":\"PythonCode\",\"duration\":0.5,\"tid\":200},{\"type\":\"HasException\",\"duration\":0.5,\"tid\":200}"
	",{\"type\":\"NoGIL\",\"duration\":1.5999999999999996,\"tid\":200},{\"type\":\"OffCPU\",\"duration\":2.09"
	"99999999999996,\"tid\":200},{\"type\":\"WaitingforGIL\",\"duration\":1.5999999999999996,\"tid\":200}"
	",{\"type\":\"NoException\",\"duration\":1.5999999999999996,\"tid\":200}],\"name\":[9,10,11,14,20,23,"
	"4,10,5,28,9,14,15,11,23,4,5,20,9,10,16,11],\"startTime\":[0.0,0.0,0.0,0.333,0.333,0.333,0.33"
	"3,0.667,0.333,0.667,1.001,1.001,1.001,0.667,1.001,2.0,2.0,2.0,2.5,2.0,2.5,2.5],\"endTime\":["
	"0.333,0.333,0.333,0.667,0.667,0.667,1.001,1.001,1.001,1.001,2.0,2.0,2.0,2.0,2.0,2.5,2.5,2."
	"5,4.1,4.1,4.1,4.1],\"phase\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],\"category\":[4,5,8"
	",5,8,7,4,5,6,7,4,5,6,8,7,4,6,8,4,5,4,8],\"length\":22}},{\"name\":\"Thread-300\",\"isMainThread\":"
	"false,\"processStartupTime\":0,\"processShutdownTime\":null,\"registerTime\":0,\"unregisterTime\":"
	"null,\"pausedRanges\":[],\"pid\":\"0\",\"tid\":300,\"processType\":\"default\",\"processName\":\"Python P"
	"rocess\",\"samples\":{\"stack\":[0],\"time\":[4.1],\"eventDelay\":[null],\"weight\":null,\"weightType\""
	":\"samples\",\"length\":1},\"stackTable\":{\"frame\":[0],\"category\":[1],\"subcategory\":[0],\"prefix\""
	":[null],\"length\":1},\"frameTable\":{\"address\":[-1],\"category\":[1],\"subcategory\":[0],\"func\":["
	"0],\"innerWindowID\":[null],\"implementation\":[null],\"optimizations\":[null],\"line\":[1],\"colum"
	"n\":[null],\"inlineDepth\":[0],\"nativeSymbol\":[null],\"length\":1},\"funcTable\":{\"name\":[34],\"is"
	"JS\":[true],\"relevantForJS\":[true],\"resource\":[0],\"fileName\":[35],\"lineNumber\":[1],\"columnN"
	"umber\":[null],\"length\":1},\"resourceTable\":{\"lib\":[null],\"name\":[35],\"host\":[null],\"type\":["
	"1],\"length\":1},\"nativeSymbols\":{\"libIndex\":[],\"address\":[],\"name\":[],\"functionSize\":[],\"le"
	"ngth\":0},\"markers\":{\"data\":[{\"type\":\"NoGIL\",\"duration\":0.0,\"tid\":300},{\"type\":\"OnCPU\",\"dur"
	"ation\":0.0,\"tid\":300},{\"type\":\"NativeCode\",\"duration\":0.0,\"tid\":300},{\"type\":\"NoException\""
	",\"duration\":0.0,\"tid\":300}],\"name\":[9,14,15,11],\"startTime\":[4.1,4.1,4.1,4.1],\"endTime\":[4"
	".1,4.1,4.1,4.1],\"phase\":[1,1,1,1],\"category\":[4,5,6,8],\"length\":4}}],\"pages\":[],\"shared\":{"
	"\"stringArray\":[\"(root)\",\"main\",\"x.py\",\"f\",\"Has GIL\",\"Python Code\",\"<GC>\",\"~\",\"LOAD_ATTR_IN"
	"STANCE_VALUE (LOAD_ATTR)\",\"No GIL\",\"Off CPU\",\"No Exception\",\"<module>\",\"<string>\",\"On CPU\""
	",\"Native Code\",\"Waiting for GIL\",\"GC Collecting\",\"caf\\u00e9.\\u03bb\",\"\\u00fcn\\u00ef.py\",\"Ha"
	"s Exception\",\"_find_and_load\",\"<frozen importlib._bootstrap>\",\"BINARY_OP\",\"BINARY_OP_ADD_I"
	"NT (BINARY_OP)\",\"<stdin>\",\"k\\tx\\u0001\\u007f\",\"q\\\"uo\\\\te.py\",\"INSTRUMENTED_END_FOR\",\"bad\\ufffd\\ufffd\\ufffd"
	"\",\"LOAD_ATTR\",\"g\\ud83d\\ude00\",\"y.py\",\"<native>\",\"z\",\"z.py\"],\"sources\":{\"length\":0,\"uuid"
	"\":[],\"filename\":[]}}}"
	;
#define EXP_BIG_LEN 3037747
#define EXP_BIG_FNV 0x6af389b0f0b70c0aULL

enum { HAS_GIL = 1, ON_CPU = 2, UNKNOWN = 4, GIL_REQ = 8, HAS_EXC = 16, MAIN = 32 };

struct tf {
	const char *file;
	int line; /* -1: no location */
	const char *func;
	int col;
	int op;   /* -1: none */
};

struct tt {
	uint64_t tid;
	uint32_t status;
	struct tf frames[6]; /* innermost first, ends with file NULL */
};

struct ts {
	uint64_t us;
	struct tt threads[3]; /* ends with tid 0 and status UINT32_MAX */
};

#define X "/app/x.py"
#define MAINF { X, 20, "main", 4, 128 }
#define COORD { "/usr/lib/python3.15/profiling/sampling/_sync_coordinator.py", 5, "main", 0, 128 }
#define GC { "~", -1, "<GC>", -1, -1 }
#define NATIVE { "~", -1, "<native>", -1, -1 }
#define END_T { 0, UINT32_MAX, { { NULL, 0, NULL, 0, 0 } } }

/* gen_gecko_expected.py's SAMPLES */
static const struct ts small[] = {
	{ 1000000, { { 100, HAS_GIL | ON_CPU | MAIN, { { X, 10, "f", 4, 186 }, MAINF, COORD } },
		     { 200, 0, { { NULL, 0, NULL, 0, 0 } } }, END_T } },
	{ 1000333, { { 100, ON_CPU | MAIN | GIL_REQ, { GC, { X, 11, "f", 8, 79 }, MAINF, COORD } },
		     { 200, HAS_GIL | ON_CPU | HAS_EXC, { { "<string>", 1, "<module>", 0, 42 } } },
		     END_T } },
	{ 1000667, { { 100, MAIN | UNKNOWN,
		       { { "/lib/\xc3\xbcn\xc3\xaf.py", 3, "caf\xc3\xa9.\xce\xbb", 2, 130 }, MAINF,
			 COORD } },
		     { 200, HAS_GIL, { { "<frozen importlib._bootstrap>", 0, "_find_and_load", -1,
					 233 } } },
		     END_T } },
	{ 1001001, { { 100, HAS_GIL | ON_CPU | MAIN, { { X, 10, "f", 4, 79 }, MAINF, COORD } },
		     { 200, ON_CPU, { { "/app/q\"uo\\te.py", 5, "k\tx\x01\x7f", 1, 42 },
				      { "<stdin>", 7, "<module>", 0, 128 } } },
		     END_T } },
	/* an encoded lone surrogate (ED B3 BF, U+DCFF), which the profile's
	 * strings never hold: written as three malformed parts, U+FFFD each */
	{ 1002000, { { 100, HAS_GIL | ON_CPU | MAIN, { { X, 12, "bad\xed\xb3\xbf", 0, 79 }, MAINF,
						      COORD } },
		     { 200, HAS_GIL | HAS_EXC, { { "/app/y.py", 30, "g\xf0\x9f\x98\x80", 2, -1 },
						 { "<stdin>", 7, "<module>", 0, 128 } } },
		     END_T } },
	{ 1002500, { { 100, HAS_GIL | ON_CPU | MAIN, { { X, 12, "bad\xed\xb3\xbf", 0, 79 }, MAINF,
						      COORD } },
		     { 200, GIL_REQ, { NATIVE, { "/app/y.py", 31, "g\xf0\x9f\x98\x80", 2, 42 },
				       { "<stdin>", 7, "<module>", 0, 128 } } },
		     END_T } },
	{ 1004100, { { 300, ON_CPU, { { "/app/z.py", 1, "z", -1, -1 } } },
		     { 100, 0, { { X, 12, "bad\xed\xb3\xbf", 0, 79 }, MAINF, COORD } }, END_T } },
};

static const char *opname(void *ctx, int op, int *base)
{
	(void)ctx;
	if (base)
		*base = py_opcode_base(3, 15, op);
	return py_opcode_name(3, 15, op);
}

static void add_frame(struct sample *s, struct thread_sample *t, struct strtab *st,
		      const struct tf *f)
{
	struct frame *fr = sample_reserve_frames(s, 1);
	fr->file = strtab_intern_cstr(st, f->file);
	fr->func = strtab_intern_cstr(st, f->func);
	fr->line = f->line;
	fr->end_line = f->line;
	fr->col = f->line < 0 ? -1 : f->col;
	fr->end_col = f->col >= 0 ? f->col + 3 : -1;
	fr->opcode = f->op;
	s->nframes++;
	t->depth++;
}

/* Replace the number after `key` (up to the next ',' or '"') by "0". */
static void zero_after(char *buf, size_t *len, const char *key)
{
	char *p = strstr(buf, key);
	if (!p)
		return;
	p += strlen(key);
	char *q = p;
	while (*q && *q != ',' && *q != '"' && *q != '}')
		q++;
	memmove(p + 1, q, (size_t)(buf + *len - q) + 1);
	*p = '0';
	*len -= (size_t)(q - p) - 1;
}

/* The file as the expected outputs have it. */
static char *normalized(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct stat st;
	fstat(fileno(f), &st);
	char *buf = malloc((size_t)st.st_size + 1);
	*len = fread(buf, 1, (size_t)st.st_size, f);
	buf[*len] = '\0';
	fclose(f);
	zero_after(buf, len, "\"startTime\":");
	zero_after(buf, len, "\"physicalCPUs\":");
	zero_after(buf, len, "\"logicalCPUs\":");
	for (char *p = buf; (p = strstr(p, "\"pid\":\"")) != NULL;) {
		p += 7;
		char *q = strchr(p, '"');
		memmove(p + 1, q, (size_t)(buf + *len - q) + 1);
		*p = '0';
		*len -= (size_t)(q - p) - 1;
	}
	return buf;
}

/* thread_clocks: req->thread_clocks, set after open as the command layer
 * does (gecko reads it at close). */
static int write_profile_clocks(const char *path, bool opcodes, bool thread_clocks,
				const struct ts *samples, size_t n, struct profile *p)
{
	struct out_request req = {
		.path = path, .opcodes = opcodes, .opcode_name = opname,
	};
	struct out_stream *st;
	int rc = out_gecko_stream.open(&st, &req);
	if (rc)
		return rc;
	req.thread_clocks = thread_clocks;
	struct sample s;
	sample_init(&s);
	for (size_t i = 0; i < n; i++) {
		sample_clear(&s);
		s.time_ns = samples[i].us * 1000;
		for (const struct tt *t = samples[i].threads; t->status != UINT32_MAX; t++) {
			struct thread_sample *th = sample_add_thread(&s);
			th->tid = t->tid;
			th->status = t->status;
			for (const struct tf *f = t->frames; f->file; f++)
				add_frame(&s, th, &p->strings, f);
		}
		rc = out_gecko_stream.add(st, &s, &p->strings);
		CHECK_EQ_INT(rc, 0);
	}
	sample_release(&s);
	bool written = false;
	rc = out_gecko_stream.close(st, p, &req, &written);
	CHECK(written == (rc == 0));
	return rc;
}

static int write_profile(const char *path, bool opcodes, const struct ts *samples, size_t n,
			 struct profile *p)
{
	return write_profile_clocks(path, opcodes, false, samples, n, p);
}

/* The normalized file written from samples (no opcodes; thread_clocks as
 * out_request's); the caller frees. */
static char *written_text_clocks(const struct ts *samples, size_t n, bool thread_clocks, size_t *len)
{
	char path[] = "/tmp/test_gecko_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct profile p;
	profile_init(&p);
	CHECK_EQ_INT(write_profile_clocks(path, false, thread_clocks, samples, n, &p), 0);
	char *got = normalized(path, len);
	profile_release(&p);
	unlink(path);
	return got;
}

static char *written_text(const struct ts *samples, size_t n, size_t *len)
{
	return written_text_clocks(samples, n, false, len);
}

static void check_case(bool opcodes, const char *expected)
{
	char path[] = "/tmp/test_gecko_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	/* a new file (one replaced keeps its mode: mkstemp's 0600) */
	unlink(path);
	struct profile p;
	profile_init(&p);
	CHECK_EQ_INT(write_profile(path, opcodes, small, sizeof(small) / sizeof(small[0]), &p), 0);
	size_t len;
	char *got = normalized(path, &len);
	CHECK(got != NULL);
	if (got && strcmp(got, expected) != 0) {
		size_t i = 0;
		while (got[i] && got[i] == expected[i])
			i++;
		fprintf(stderr, "differs at byte %zu:\n  got      %.120s\n  expected %.120s\n", i,
			got + (i > 40 ? i - 40 : 0), expected + (i > 40 ? i - 40 : 0));
		CHECK(0);
	}
	/* every new strobe output: 0666 minus the umask (Tachyon's gecko: 0600) */
	struct stat st;
	mode_t mask = umask(0);
	umask(mask);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask));
	free(got);
	profile_release(&p);
	unlink(path);
}

TEST(small)
{
	check_case(false, exp_small);
}

TEST(small_opcodes)
{
	check_case(true, exp_small_ops);
}

static uint64_t fnv1a64(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}

/* gen_gecko_expected.py's big_samples(): several spill chunks per thread. */
TEST(big)
{
	static const char *const files[] = { "/b/m0.py", "/b/m1.py", "/b/m2.py", "/b/m3.py",
					     "/b/m4.py" };
	static const char *const funcs[] = { "fn0", "fn1", "fn2", "fn3", "fn4" };
	char path[] = "/tmp/test_gecko_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct profile p;
	profile_init(&p);
	struct out_request req = { .path = path };
	struct out_stream *st;
	CHECK_EQ_INT(out_gecko_stream.open(&st, &req), 0);
	struct sample s;
	sample_init(&s);
	uint64_t t = 5000000;
	for (uint64_t i = 0; i < 30000; i++) {
		t += 100 + (i * 7919) % 37;
		sample_clear(&s);
		s.time_ns = t * 1000;
		for (uint64_t tid = 1; tid <= 3; tid++) {
			struct thread_sample *th = sample_add_thread(&s);
			th->tid = tid;
			th->status = ((i / (7 * tid)) % 2 == 0 ? HAS_GIL | ON_CPU : ON_CPU | GIL_REQ) |
				     (tid == 1 ? MAIN : 0);
			int k = (int)((i / (tid * 3)) % 5);
			for (int j = 0; j <= k; j++) {
				struct tf f = { files[j], 10 + j + k, funcs[j], j, -1 };
				add_frame(&s, th, &p.strings, &f);
			}
		}
		CHECK_EQ_INT(out_gecko_stream.add(st, &s, &p.strings), 0);
	}
	sample_release(&s);
	bool written = false;
	CHECK_EQ_INT(out_gecko_stream.close(st, &p, &req, &written), 0);
	CHECK(written);
	size_t len;
	char *got = normalized(path, &len);
	CHECK(got != NULL);
	CHECK_EQ_INT(len, EXP_BIG_LEN);
	CHECK(got && fnv1a64(got, len) == EXP_BIG_FNV);
	free(got);
	profile_release(&p);
	unlink(path);
}

/* Parse the JSON number list that follows `key` in p; returns its length. */
static size_t numbers_after(const char *p, const char *key, double *out, size_t max)
{
	p = strstr(p, key);
	if (!p)
		return 0;
	p += strlen(key);
	size_t n = 0;
	while (*p && *p != ']' && n < max) {
		char *end;
		out[n++] = strtod(p, &end);
		p = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* A replayed file gives each thread's samples in time order but not the
 * threads' (a run of repeats is written when it ends): thread 200's run
 * comes after thread 100's later samples.  Spans still open at the end
 * close at the latest time, so none ends before it starts. */
TEST(threads_out_of_order)
{
	static const struct ts late[] = {
		{ 1000000, { { 100, HAS_GIL | ON_CPU | MAIN, { MAINF } }, END_T } },
		{ 1001000, { { 100, ON_CPU | MAIN, { MAINF } }, END_T } },
		{ 1003000, { { 100, HAS_GIL | ON_CPU | MAIN, { MAINF } }, END_T } },
		{ 1000500, { { 200, HAS_GIL | HAS_EXC, { { X, 3, "g", 0, -1 } } }, END_T } },
		{ 1001500, { { 200, HAS_GIL | HAS_EXC, { { X, 3, "g", 0, -1 } } }, END_T } },
	};
	char path[] = "/tmp/test_gecko_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct profile p;
	profile_init(&p);
	CHECK_EQ_INT(write_profile(path, false, late, sizeof(late) / sizeof(late[0]), &p), 0);
	size_t len;
	char *got = normalized(path, &len);
	CHECK(got != NULL);
	size_t threads = 0, spans = 0;
	for (const char *m = got; m && (m = strstr(m, "\"markers\":")) != NULL; m++) {
		double start[32], end[32];
		size_t ns = numbers_after(m, "\"startTime\":[", start, 32);
		size_t ne = numbers_after(m, "\"endTime\":[", end, 32);
		CHECK(ns > 0 && ns == ne);
		for (size_t i = 0; i < ns && i < ne; i++) {
			CHECK(end[i] >= start[i]);
			CHECK(end[i] <= 3.0);
		}
		threads++;
		spans += ns;
	}
	CHECK_EQ_INT(threads, 2);
	/* thread 200 opened its spans at 0.5 ms and they stay open to 3.0 */
	CHECK(strstr(got, "\"startTime\":[0.5,0.5,0.5,0.5],\"endTime\":[3.0,3.0,3.0,3.0]"));
	CHECK(spans > 4);
	free(got);
	profile_release(&p);
	unlink(path);
}

/* Samples of one thread each, on each thread's clock (the bpf engine): in
 * time order per thread, not across threads, the first added later than
 * another thread's first.  With req->thread_clocks times count from the
 * earliest sample and meta.interval is the span over the samples of the
 * thread seen most; without it (Tachyon's rule: from the first added, the
 * last added's time over the add() calls) thread 200 starts at -0.5 ms and
 * the interval is a quarter of the sampling's. */
TEST(thread_clocks)
{
	static const struct ts one_each[] = {
		{ 1000500, { { 100, HAS_GIL | ON_CPU | MAIN, { MAINF } }, END_T } },
		{ 1000000, { { 200, 0, { { X, 3, "g", 0, -1 } } }, END_T } },
		{ 1001500, { { 100, HAS_GIL | ON_CPU | MAIN, { MAINF } }, END_T } },
		{ 1001000, { { 200, 0, { { X, 3, "g", 0, -1 } } }, END_T } },
		{ 1002500, { { 100, ON_CPU | MAIN, { MAINF } }, END_T } },
		{ 1002000, { { 200, HAS_GIL, { { X, 3, "g", 0, -1 } } }, END_T } },
	};
	size_t n = sizeof(one_each) / sizeof(one_each[0]);
	for (int clocks = 0; clocks <= 1; clocks++) {
		size_t len;
		char *got = written_text_clocks(one_each, n, clocks, &len);
		CHECK(got != NULL);
		double interval[1] = { 0 };
		CHECK_EQ_INT(numbers_after(got, "{\"meta\":{\"interval\":", interval, 1), 1);
		const char *t200 = got ? strstr(got, "\"tid\":200,") : NULL;
		const char *t100 = got ? strstr(got, "\"tid\":100,") : NULL;
		CHECK(t100 && t200);
		double times[8], starts[16];
		if (clocks) {
			CHECK(interval[0] > 0.8333 && interval[0] < 0.8334); /* 2.5 ms / 3 */
			CHECK(t100 && numbers_after(t100, "\"time\":[", times, 8) == 3 &&
			      times[0] == 0.5 && times[2] == 2.5);
			CHECK(t200 && numbers_after(t200, "\"time\":[", times, 8) == 3 &&
			      times[0] == 0.0 && times[2] == 2.0);
			/* thread 200's first look opens its spans at 0 */
			size_t ns = t200 ? numbers_after(t200, "\"startTime\":[", starts, 16) : 0;
			CHECK(ns > 0);
			for (size_t i = 0; i < ns; i++)
				CHECK(starts[i] >= 0.0);
			CHECK(ns > 0 && starts[0] == 0.0);
		} else {
			CHECK(interval[0] == 0.25); /* 1.5 ms / 6 */
			CHECK(t200 && numbers_after(t200, "\"time\":[", times, 8) == 3 &&
			      times[0] == -0.5);
		}
		free(got);
	}
}

/* A Python frame at an instruction without location (line -1) gets null for
 * its line and lineNumber, as in Tachyon's replay of it, where its live
 * collector writes -1, a line the Firefox Profiler does not have. */
TEST(python_frame_without_line)
{
	static const struct ts one[] = {
		{ 1000000, { { 100, HAS_GIL | ON_CPU | MAIN,
			       { { X, -1, "cleanup", -1, -1 }, MAINF } },
			     END_T } },
	};
	size_t len;
	char *got = written_text(one, 1, &len);
	CHECK(got != NULL);
	/* frames root first: main at line 20, then the leaf */
	CHECK(got && strstr(got, "\"line\":[20,null],\"column\":[4,null]"));
	CHECK(got && strstr(got, "\"lineNumber\":[20,null]"));
	free(got);
}

/* A directory that does not exist: open fails before any sample. */
TEST(unwritable)
{
	struct out_request req = { .path = "/nonexistent/dir/x.json" };
	struct out_stream *st = NULL;
	CHECK_EQ_INT(out_gecko_stream.open(&st, &req), ERR_IO);
	CHECK(st == NULL);
}

/* No sample at all: still a valid, empty profile. */
TEST(empty)
{
	char path[] = "/tmp/test_gecko_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	struct profile p;
	profile_init(&p);
	struct out_request req = { .path = path };
	struct out_stream *st;
	CHECK_EQ_INT(out_gecko_stream.open(&st, &req), 0);
	bool written = false;
	CHECK_EQ_INT(out_gecko_stream.close(st, &p, &req, &written), 0);
	CHECK(written);
	size_t len;
	char *got = normalized(path, &len);
	CHECK(got && strstr(got, "{\"meta\":{\"interval\":1.0,\"startTime\":0,") == got);
	CHECK(got && strstr(got, "\"threads\":[],\"pages\":[],\"shared\":{\"stringArray\":[\"(root)\"],"));
	free(got);
	profile_release(&p);
	unlink(path);
}

/* Whether this process has a file of directory dir open (an unnamed
 * O_TMPFILE shows as "dir/#123 (deleted)"). */
static bool holds_file_in(const char *dir)
{
	DIR *d = opendir("/proc/self/fd");
	bool found = false;
	struct dirent *e;
	size_t n = strlen(dir);
	while (d && !found && (e = readdir(d)) != NULL) {
		char link[320], to[4096];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t k = readlink(link, to, sizeof(to) - 1);
		if (k <= 0)
			continue;
		to[k] = '\0';
		found = strncmp(to, dir, n) == 0 && to[n] == '/';
	}
	if (d)
		closedir(d);
	return found;
}

/* The spill: beside a regular (or new) output file, in $TMPDIR when the
 * output is written through something else (-o /dev/null, -o /dev/stdout:
 * /dev is a RAM file system). */
TEST(spill_place)
{
	char out[] = "/tmp/test_gecko_outXXXXXX", tmp[] = "/tmp/test_gecko_tmpXXXXXX";
	CHECK(mkdtemp(out) != NULL && mkdtemp(tmp) != NULL);
	const char *old = getenv("TMPDIR");
	char *saved = old ? strdup(old) : NULL;
	setenv("TMPDIR", tmp, 1);
	char link[64], fresh[64], reg[64];
	snprintf(link, sizeof(link), "%s/null", out);
	snprintf(fresh, sizeof(fresh), "%s/new.json", out);
	snprintf(reg, sizeof(reg), "%s/old.json", out);
	CHECK(symlink("/dev/null", link) == 0);
	FILE *f = fopen(reg, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	const struct {
		const char *path;
		bool beside;
	} cases[] = { { link, false }, { "/dev/null", false }, { fresh, true }, { reg, true } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct out_request req = { .path = cases[i].path, .named = true };
		struct out_stream *st = NULL;
		CHECK_EQ_INT(out_gecko_stream.open(&st, &req), 0);
		if (!st)
			continue;
		CHECK(holds_file_in(out) == cases[i].beside);
		CHECK(holds_file_in(tmp) == !cases[i].beside);
		out_gecko_stream.abort(st, &req);
	}
	if (saved)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
	unlink(link);
	unlink(reg);
	CHECK(rmdir(out) == 0 && rmdir(tmp) == 0);
}

int main(void)
{
	RUN(small);
	RUN(small_opcodes);
	RUN(big);
	RUN(threads_out_of_order);
	RUN(thread_clocks);
	RUN(python_frame_without_line);
	RUN(unwritable);
	RUN(empty);
	RUN(spill_place);
	return harness_done();
}
