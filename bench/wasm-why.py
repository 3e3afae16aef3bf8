#!/usr/bin/env python3
"""Why a piece of constant data is where it is: in the browser's linked module before the
split (with its relocations), which module roots reach the data holding `text` (the main
module's exports, then each split point's), and by what path of functions and data symbols.

  bench/wasm-why.py $CARGO_TARGET_DIR/front/wasm32-unknown-unknown/wasm-release/frontend.wasm 'Cambiar contraseña'
"""
import sys, importlib.util, bisect, os
from collections import deque
spec=importlib.util.spec_from_file_location("wf", os.path.join(os.path.dirname(os.path.abspath(__file__)), "wasm-functions.py")); wf=importlib.util.module_from_spec(spec); spec.loader.exec_module(wf)
leb=wf.leb
def sleb(b,pos):
    result=shift=0
    while True:
        byte=b[pos]; pos+=1; result|=(byte&0x7f)<<shift; shift+=7
        if byte<0x80:
            if byte&0x40: result-=1<<shift
            return result,pos
p=sys.argv[1]; needle=sys.argv[2].encode()
data=open(p,'rb').read()
secs=[]; pos=8
while pos<len(data):
    kind=data[pos]; size,pos2=leb(data,pos+1); secs.append((kind,pos2,size)); pos=pos2+size
custom={}; exports=[]
for kind,start,size in secs:
    body=data[start:start+size]
    if kind==0:
        l,q=leb(body,0); custom[body[q:q+l].decode()]=body[q+l:]
    elif kind==11: dbody,dstart=body,start
    elif kind==10: cbody,cstart=body,start
    elif kind==2: imports=wf.imported_functions(body)
    elif kind==7:
        n,q=leb(body,0)
        for _ in range(n):
            l,q=leb(body,q); nm=body[q:q+l].decode(); q+=l; k=body[q]; q+=1; ix,q=leb(body,q)
            if k==0: exports.append((nm,ix))
n,q=leb(dbody,0); segs=[]
for i in range(n):
    flag,q=leb(dbody,q)
    if flag==0:
        q+=1; _,q=sleb(dbody,q); q+=1
    size,q=leb(dbody,q); segs.append((q,size)); q+=size   # q relative to data body
fc,cq=leb(cbody,0); starts=[]
for _ in range(fc):
    sz,cq2=leb(cbody,cq); starts.append(cq); cq=cq2+sz
lk=custom['linking']; v,q=leb(lk,0); syms=[]
while q<len(lk):
    t=lk[q]; sz,q=leb(lk,q+1); end=q+sz
    if t==8:
        cnt,r=leb(lk,q)
        for _ in range(cnt):
            kind=lk[r]; flags,r=leb(lk,r+1); info=None
            if kind in (0,2,4,5):
                ix,r=leb(lk,r)
                if not (flags&0x10) or (flags&0x40):
                    l,r=leb(lk,r); r+=l
                info=ix
            elif kind==1:
                l,r=leb(lk,r); r+=l
                if not (flags&0x10):
                    s,r=leb(lk,r); o,r=leb(lk,r); z,r=leb(lk,r); info=(s,o,z)
            elif kind==3: ix,r=leb(lk,r); info=ix
            syms.append((kind,info))
    q=end
# data symbols by absolute (data-body-relative) range
dsyms=sorted([(segs[s[1][0]][0]+s[1][1], segs[s[1][0]][0]+s[1][1]+s[1][2], i) for i,s in enumerate(syms) if s[0]==1 and s[1]], key=lambda x:x[0])
dstarts=[d[0] for d in dsyms]
def dsym_at(off):
    k=bisect.bisect_right(dstarts,off)-1
    while k>=0 and dsyms[k][0]<=off:
        if off<dsyms[k][1]: return dsyms[k][2]
        k-=1
    return None
def node_of(symix):
    kind,info=syms[symix]
    if kind==0: return ('F',info)
    if kind==1: return ('D',symix)
    return None
edges={}
def add(a,b):
    if b: edges.setdefault(a,set()).add(b)
MEM=(3,4,5,8,9,11,14,15,16,17,21,22,23,25)
rc=custom['reloc.CODE']; sec,r=leb(rc,0); cnt,r=leb(rc,r)
for _ in range(cnt):
    typ=rc[r]; off,r=leb(rc,r+1); ix,r=leb(rc,r)
    if typ in MEM: _,r=sleb(rc,r)
    if typ in (6,7,8,9,10,13,20,22): continue
    f=imports+bisect.bisect_right(starts,off-0)-1
    add(('F',f),node_of(ix))
rd=custom['reloc.DATA']; sec,r=leb(rd,0); cnt,r=leb(rd,r)
for _ in range(cnt):
    typ=rd[r]; off,r=leb(rd,r+1); ix,r=leb(rd,r)
    if typ in MEM: _,r=sleb(rd,r)
    d=dsym_at(off)
    if d is not None: add(('D',d),node_of(ix))
fnames=wf.function_names(custom['name'])
idx=data.find(needle)-dstart
target=('D',dsym_at(idx))
roots=[('F',ix) for nm,ix in exports if '__wasm_split' not in nm]
prev={}; dq=deque(roots)
for r0 in roots: prev[r0]=None
while dq:
    x=dq.popleft()
    for y in edges.get(x,()):
        if y not in prev: prev[y]=x; dq.append(y)
def name(nd):
    if nd[0]=='F': return 'F '+wf.demangle(fnames.get(nd[1],'?'))[:170]
    return 'D sym%d'%nd[1]
print('roots',len(roots),'reached',len(prev),'target',target, 'reachable from main:', target in prev)
if target in prev:
    path=[]; x=target
    while x: path.append(x); x=prev[x]
    for nd in reversed(path): print('  ',name(nd))
splits=[(nm,ix) for nm,ix in exports if '__wasm_split' in nm]
def reach(rs):
    seen=set(rs); dq=deque(rs); pv={r:None for r in rs}
    while dq:
        x=dq.popleft()
        for y in edges.get(x,()):
            if y not in pv: pv[y]=x; dq.append(y)
    return pv
hits=[]
for nm,ix in splits:
    pv=reach([('F',ix)])
    if target in pv:
        hits.append(nm)
        if len(hits)<=3:
            path=[]; x=target
            while x: path.append(x); x=pv[x]
            print('from', nm[-60:])
            for nd in reversed(path): print('    ',name(nd)[:200])
print('split exports', len(splits), 'reaching target:', len(hits), [h[-40:] for h in hits])
