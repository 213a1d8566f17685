import sys
root=sys.argv[1]
p=root+'/assembly/attention.ts'
s=open(p).read()
s=s.replace("const FLT_MAX: f32 = 3.4028234663852886e38;","let STOP: i32 = 99;\nexport function set_sparq_stop(n: i32): void { STOP = n; }\nconst FLT_MAX: f32 = 3.4028234663852886e38;",1)
def before(marker, n):
    global s
    assert s.count(marker)==1, marker
    i=s.index(marker)
    s=s[:i]+f"  if (STOP <= {n}) return;\n"+s[i:]
before("  // Step 1: approximate logits of every position.",0)
before("  // Approximate scores s_hat = softmax",1)
before("  // Selection key: s_hat summed over the group",2)
before("  // alpha per query head (g = 1: alpha temporarily",3)
m=[x for x in ["  attendSelectedRows<T>(kp, vp, qp, op, sel, cnt, d, g, mrun, lrun, 0, 0, sinkp, conv);\n  // Normalise", "  attendSelectedRows<T>(kp, vp, qp, op, sel, cnt, d, g, mrun, lrun, w, K, sinkp, conv);\n  // Normalise"] if x in s][0]
before(m,4)
before("  // Normalise, with alpha folded in.",5)
open(p,'w').write(s)
p=root+'/assembly/index.ts'
s=open(p).read()
s=s.replace("kv_block_offset, kv_widen_f16,","kv_block_offset, kv_widen_f16, set_sparq_stop,")
open(p,'w').write(s)
